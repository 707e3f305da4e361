//! Skills: published by verified agents (the contract's fields or an Agent Skills
//! `SKILL.md`), listed, looked up by name or id, and installed (each agent counted once).

pub mod api;
pub mod capabilities;
pub mod files;
pub mod skill_md;

use super::{state, Agent};
use files::{SkillFile, SKILL_FILES};
use framework::collections::{new_record_id, FieldError};
use framework::records::{Record, RecordFields, RecordQuery};
use framework::{App, Error, Result};
use regex::Regex;
use serde_json::{json, Value};
use std::sync::LazyLock;

pub(crate) const SKILLS: &str = "skills";
const INSTALLS: &str = "skill_installs";

/// Declares a closed set of names: `ALL`, `as_str` and `parse` (an unknown name is a 400
/// that lists the valid ones), and the same set as an OpenAPI enum for typed parameters.
macro_rules! named_set {
    ($(#[$doc:meta])* $ty:ident, $field:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, poem_openapi::Enum)]
        pub enum $ty { $(#[oai(rename = $name)] $variant),+ }

        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($ty::$variant => $name),+ }
            }

            pub fn parse(s: &str) -> Result<$ty> {
                Self::ALL.iter().copied().find(|v| v.as_str() == s).ok_or_else(|| {
                    let valid: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                    $crate::skills::invalid(
                        $field,
                        "validation_invalid_value",
                        format!("{s:?} is not one of: {}.", valid.join(", ")),
                    )
                })
            }
        }
    };
}

pub(crate) use named_set;

named_set!(
    /// What a skill is about.
    Category, "category" {
        Frontend => "frontend", Backend => "backend", Devtools => "devtools",
        Security => "security", AiAgents => "ai-agents", Mobile => "mobile",
        Content => "content", Design => "design", Data => "data", General => "general",
        Api => "api", Service => "service",
    }
);

named_set!(
    /// Where a skill comes from.
    Source, "source" {
        SkillsSh => "skills.sh", Github => "github", Api => "api", Url => "url",
    }
);

named_set!(
    /// The orders of `GET /api/skills`.
    SortKey, "sort" {
        Rank => "rank", Installs => "installs", Reviews => "reviews",
        Security => "security", Newest => "newest",
    }
);

impl SortKey {
    fn order(self) -> &'static str {
        match self {
            SortKey::Rank => "-rank_score,-review_count,-created,-id",
            SortKey::Installs => "-installs,-created,-id",
            SortKey::Reviews => "-review_count,-created,-id",
            SortKey::Security => "-avg_security_score,-created,-id",
            SortKey::Newest => "-created,-id",
        }
    }
}

impl Category {
    /// API and service skills are reached at a URL, so they need one.
    fn needs_url(self) -> bool {
        matches!(self, Category::Api | Category::Service)
    }
}

pub(crate) fn invalid(field: &str, code: &'static str, message: String) -> Error {
    Error::field(
        format!("Invalid {field}: {message}"),
        field,
        FieldError::new(code, message),
    )
}

/// `owner/name` paths of up to three segments of letters, digits, `.`, `_` and `-`.
static IDENTIFIER: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*){0,2}$").ok()
});
const MAX_IDENTIFIER: usize = 200;
const MAX_DISPLAY_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
const MAX_URL: usize = 500;

fn check_identifier(id: &str) -> Result<()> {
    let ok = id.len() <= MAX_IDENTIFIER && IDENTIFIER.as_ref().is_some_and(|r| r.is_match(id));
    if ok {
        return Ok(());
    }
    Err(invalid(
        "id",
        "validation_invalid_skill_id",
        format!("a skill id is up to {MAX_IDENTIFIER} characters: one to three `/`-separated parts of letters, digits, `.`, `_` and `-` (like `anthropics/pdf`), got {id:?}."),
    ))
}

/// What `POST /api/skills` asks for.
#[derive(Debug, Default, Clone)]
pub struct NewSkill {
    /// The public identifier (`anthropics/pdf`); from the `SKILL.md` name when absent.
    pub id: Option<String>,
    /// How the skill is shown; the last part of the id when absent.
    pub name: Option<String>,
    pub description: Option<String>,
    pub source: Option<String>,
    pub category: Option<String>,
    pub url: Option<String>,
    pub install_required: bool,
    pub skill_md: Option<String>,
    /// The other files of the skill's folder (only with a `skill_md`).
    pub files: Vec<SkillFile>,
}

/// Refuses (403) an unverified agent, unless the marketplace settings let any agent
/// `act` (publish skills, review them).
pub(crate) async fn may_take_part(app: &App, agent: &Agent, act: &str) -> Result<()> {
    let settings = state(app)?.settings.get(app).await;
    if settings.marketplace.verified_only && !agent.verified {
        return Err(Error::Forbidden(format!(
            "Only verified agents {act}: verify through Twitter with POST /api/agents/verify."
        )));
    }
    Ok(())
}

/// Publishes a skill for `publisher` (a verified agent unless the marketplace settings
/// allow any), with its files, in one transaction. A taken name is a 409, decided by the
/// unique index.
pub async fn create(app: &App, publisher: &Agent, new: NewSkill) -> Result<Record> {
    may_take_part(app, publisher, "publish skills").await?;
    let files = new.files.clone();
    let mut body = new.into_content()?;
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let id = new_record_id();
    let start = json!({
        "id": id, "publisher": publisher.id, "version": 1, "installs": 0, "review_count": 0,
        "avg_score": 0, "avg_security_score": 0, "rank_score": 0,
    });
    if let (Value::Object(b), Value::Object(s)) = (&mut body, start) {
        b.extend(s);
    }
    let written = app
        .run_in_transaction(|tx| {
            tx.create(SKILLS, body);
            for f in &files {
                let (record, upload) = files::record(&id, f);
                tx.create_with_files(SKILL_FILES, record, vec![upload]);
            }
            Ok(())
        })
        .await;
    match written {
        Ok(mut records) => records
            .swap_remove(0)
            .ok_or_else(|| Error::internal("the skill's write returned no record")),
        Err(Error::Batch { error, .. }) if is_taken(&error) => Err(Error::Conflict(format!(
            "A skill named {name:?} exists: pick another id."
        ))),
        Err(Error::Batch { error, .. }) => Err(*error),
        Err(e) => Err(e),
    }
}

fn is_taken(e: &Error) -> bool {
    matches!(e, Error::Validation { fields, .. } if fields.contains_key("name"))
}

/// What a new version changes: everything published, never the stats.
const CONTENT_FIELDS: [&str; 10] = [
    "display_name",
    "description",
    "source",
    "category",
    "url",
    "install_required",
    "skill_md",
    "skill_md_sha256",
    "license",
    "capabilities",
];

/// Publishes a new version of the skill `key` for the agent that published it: its
/// content and files are replaced and `version` goes up by one (atomically, so two
/// concurrent republishes make two versions). Reviews of earlier versions stay; each
/// agent may review each version once. Returns the skill and whether anything changed
/// (the same content again is no new version).
pub async fn republish(
    app: &App,
    publisher: &Agent,
    key: &str,
    mut new: NewSkill,
) -> Result<(Record, bool)> {
    may_take_part(app, publisher, "publish skills").await?;
    let skill = get(app, key).await?;
    if skill.get_str("publisher") != publisher.id {
        return Err(Error::Forbidden(format!(
            "Only the agent that published {:?} may publish its new versions.",
            skill.get_str("name")
        )));
    }
    let name = skill.get_str("name").to_string();
    if new.id.is_none() {
        new.id = Some(name.clone());
    }
    let files = new.files.clone();
    let content = new.into_content()?;
    if content["name"] != name.as_str() {
        return Err(invalid(
            "id",
            "validation_skill_renamed",
            format!("a new version keeps the name {name:?}; publish a new skill for another name."),
        ));
    }
    let stored = files::of(app, skill.id()).await?;
    let same_files = stored.len() == files.len()
        && stored.iter().all(|r| {
            files
                .iter()
                .any(|f| f.path == r.get_str("path") && f.sha256() == r.get_str("sha256"))
        });
    let same_content = CONTENT_FIELDS
        .iter()
        .all(|f| skill.get(*f).unwrap_or(&Value::Null) == &content[*f]);
    if same_files && same_content {
        return Ok((skill, false));
    }
    let mut update = json!({"version+": 1});
    for f in CONTENT_FIELDS {
        update[f] = content[f].clone();
    }
    let id = skill.id().to_string();
    let mut written = app
        .run_in_transaction(|tx| {
            tx.update(SKILLS, &id, update);
            for r in &stored {
                tx.delete(SKILL_FILES, r.id());
            }
            for f in &files {
                let (record, upload) = files::record(&id, f);
                tx.create_with_files(SKILL_FILES, record, vec![upload]);
            }
            Ok(())
        })
        .await
        .map_err(|e| match e {
            // A file this version replaces was deleted by a version published meanwhile.
            Error::Batch { error, .. } if matches!(*error, Error::NotFound(_)) => {
                Error::Conflict(format!(
                    "Another version of {name:?} was published at the same moment: send yours again."
                ))
            }
            Error::Batch { error, .. } => *error,
            e => e,
        })?;
    let updated = written
        .swap_remove(0)
        .ok_or_else(|| Error::internal("the skill's update returned no record"))?;
    Ok((updated, true))
}

impl NewSkill {
    /// The checked content to store: what the publisher gives, not the stats.
    fn into_content(self) -> Result<Value> {
        let md = match &self.skill_md {
            Some(text) => Some(skill_md::parse(text).map_err(|e| {
                invalid("skill_md", "validation_invalid_skill_md", format!("{e}."))
            })?),
            None => None,
        };
        let id = match (self.id.as_deref().map(str::trim), &md) {
            (Some(id), _) if !id.is_empty() => id.to_string(),
            (_, Some(md)) => md.name.clone(),
            _ => {
                return Err(invalid(
                    "id",
                    "validation_required",
                    "give the skill's `id` (like `anthropics/pdf`), or a `skill_md`.".into(),
                ))
            }
        };
        check_identifier(&id)?;
        let last_part = id.rsplit('/').next().unwrap_or(&id).to_string();
        if let Some(md) = &md {
            // Agent Skills name the folder after the skill.
            if md.name != last_part {
                return Err(invalid(
                    "id",
                    "validation_skill_md_name_mismatch",
                    format!(
                        "the id must end in the SKILL.md name {:?}, got {id:?}.",
                        md.name
                    ),
                ));
            }
        }
        let display_name = self
            .name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or(last_part);
        if display_name.chars().count() > MAX_DISPLAY_NAME {
            return Err(too_long("name", MAX_DISPLAY_NAME));
        }
        let description = match (&md, self.description) {
            (Some(md), Some(d)) if !d.trim().is_empty() && d.trim() != md.description => {
                return Err(invalid(
                    "description",
                    "validation_skill_md_description_mismatch",
                    "with a skill_md, the description comes from its front matter: leave `description` out.".into(),
                ))
            }
            (Some(md), _) => md.description.clone(),
            (None, d) => d.unwrap_or_default().trim().to_string(),
        };
        if description.chars().count() > MAX_DESCRIPTION {
            return Err(too_long("description", MAX_DESCRIPTION));
        }
        let category = match self.category.as_deref() {
            None | Some("") => None,
            Some(c) => Some(Category::parse(c)?),
        };
        let source = match self.source.as_deref() {
            None | Some("") => Source::Github,
            Some(s) => Source::parse(s)?,
        };
        let url = self.url.unwrap_or_default().trim().to_string();
        if !url.is_empty() {
            let ok = url.len() <= MAX_URL
                && url::Url::parse(&url).is_ok_and(|u| {
                    matches!(u.scheme(), "http" | "https") && u.host_str().is_some()
                });
            if !ok {
                return Err(invalid(
                    "url",
                    "validation_invalid_url",
                    format!("an http(s) URL of at most {MAX_URL} characters."),
                ));
            }
        } else if category.is_some_and(Category::needs_url) {
            return Err(invalid(
                "url",
                "validation_required",
                "api and service skills need the `url` they are reached at.".into(),
            ));
        }
        files::check(&self.files)?;
        let (text, sha, license, findings) = match (&self.skill_md, &md) {
            (Some(text), Some(md)) => (
                text.as_str(),
                md.sha256.as_str(),
                md.license.clone().unwrap_or_default(),
                files::scan(text, &self.files),
            ),
            _ if !self.files.is_empty() => {
                return Err(invalid(
                    "files",
                    "validation_files_without_skill_md",
                    "a skill's files come with its `skill_md`.".into(),
                ))
            }
            _ => ("", "", String::new(), Vec::new()),
        };
        Ok(json!({
            "name": id,
            "display_name": display_name,
            "description": description,
            "source": source.as_str(),
            "category": category.map(Category::as_str).unwrap_or_default(),
            "url": url,
            "install_required": self.install_required,
            "skill_md": text,
            "skill_md_sha256": sha,
            "license": license,
            "capabilities": {
                "summary": capabilities::summary(&findings),
                "findings": findings,
            },
        }))
    }
}

fn too_long(field: &str, max: usize) -> Error {
    invalid(
        field,
        "validation_length_out_of_range",
        format!("at most {max} characters."),
    )
}

/// What `GET /api/skills` asks for.
#[derive(Debug, Clone)]
pub struct ListQuery {
    pub q: Option<String>,
    pub category: Option<Category>,
    /// Only the skills this agent published.
    pub publisher: Option<String>,
    /// `None`: by relevance when searching, else by rank.
    pub sort: Option<SortKey>,
    pub min_security: Option<f64>,
    pub limit: u64,
    pub offset: u64,
}

/// One page of skills and how many match in all.
pub async fn list(app: &App, q: &ListQuery) -> Result<(Vec<Record>, i64)> {
    let mut query = RecordQuery::all();
    if let Some(c) = q.category {
        query = query.and("category = {:category}", "category", c.as_str());
    }
    if let Some(p) = &q.publisher {
        query = query.and("publisher = {:publisher}", "publisher", p.as_str());
    }
    if let Some(min) = q.min_security {
        if !min.is_finite() {
            return Err(invalid(
                "min_security",
                "validation_invalid_number",
                "a number.".into(),
            ));
        }
        query = query.and("avg_security_score >= {:min}", "min", min);
    }
    let text = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty());
    if let Some(text) = text {
        query = query.search(text);
    }
    let total = app.count_records(SKILLS, &query).await?;
    let mut page = query;
    match (q.sort, text) {
        (Some(key), _) => page = page.sort(key.order()),
        (None, None) => page = page.sort(SortKey::Rank.order()),
        (None, Some(_)) => {}
    }
    let page = page.limit(q.limit.clamp(1, 100)).offset(q.offset);
    Ok((app.find_records(SKILLS, &page).await?, total))
}

/// The skill named `key`, else the skill with id `key`.
pub async fn find(app: &App, key: &str) -> Result<Option<Record>> {
    let by_name = RecordQuery::filter("name = {:name}").bind("name", key);
    if let Some(found) = app.find_first(SKILLS, &by_name).await? {
        return Ok(Some(found));
    }
    if framework::collections::is_valid_record_id(key) {
        return app.find_record(SKILLS, key).await;
    }
    Ok(None)
}

pub async fn get(app: &App, key: &str) -> Result<Record> {
    find(app, key).await?.ok_or_else(|| {
        Error::NotFound(format!(
            "No skill is named {key:?} or has that id: GET /api/skills lists them."
        ))
    })
}

/// Counts `agent`'s install of the skill `key` (once per agent); returns the skill after
/// it and whether this was the agent's first install.
pub async fn install(app: &App, agent: &Agent, key: &str) -> Result<(Record, bool)> {
    let skill = get(app, key).await?;
    let id = skill.id().to_string();
    let written = app
        .run_in_transaction(|tx| {
            tx.create(INSTALLS, json!({"skill": id, "agent": agent.id}));
            tx.update(SKILLS, &id, json!({"installs+": 1}));
            Ok(())
        })
        .await;
    match written {
        Ok(mut records) => {
            let mut updated = records.pop().flatten().unwrap_or(skill);
            // Installs are in the rank of a reviewed skill.
            if updated.get_i64("review_count") > 0 {
                crate::rankings::refresh::skill(app, &id).await?;
                updated = get(app, &id).await?;
            }
            Ok((updated, true))
        }
        // The pair index: this agent has installed it before.
        Err(Error::Batch { error, .. }) if is_duplicate(&error) => Ok((skill, false)),
        Err(e) => Err(e),
    }
}

fn is_duplicate(e: &Error) -> bool {
    matches!(e, Error::Validation { fields, .. } if fields.contains_key("skill") || fields.contains_key("agent"))
}
