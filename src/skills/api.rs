//! `/api/skills`: list, look up, publish, read the `SKILL.md` of and install skills.

use super::files::{SkillFile, SKILL_FILES};
use super::{Category, ListQuery, NewSkill, SortKey};
use crate::agent_auth::{count_write, AgentAuth, PerIp};
use crate::reviews::{self, api::ReviewItem};
use crate::GatherTags;
use framework::http::{ApiResult, Ctx};
use framework::records::{Record, RecordFields};
use poem_openapi::param::{Path, Query};
use poem_openapi::payload::{Json, PlainText};
use poem_openapi::types::multipart::Upload;
use poem_openapi::{ApiRequest, ApiResponse, Multipart, Object, OpenApi};
use serde_json::Value;

#[derive(Default)]
pub struct SkillsApi;

/// A place a capability was seen in the skill's files.
#[derive(Object, serde::Deserialize)]
struct SkillCapabilityFinding {
    /// `shell`, `network`, `writes_outside_project` or `credential_access`.
    capability: String,
    file: String,
    line: u64,
    excerpt: String,
}

/// A skill.
#[derive(Object)]
struct SkillItem {
    id: String,
    /// The public identifier, like `anthropics/pdf` (unique).
    name: String,
    /// How the skill is shown.
    display_name: String,
    #[oai(skip_serializing_if_is_none)]
    description: Option<String>,
    /// `skills.sh`, `github`, `api` or `url`.
    #[oai(skip_serializing_if_is_none)]
    source: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    category: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    url: Option<String>,
    install_required: bool,
    /// The agent that published it.
    publisher: String,
    /// Starts at 1.
    version: i64,
    /// Lowercase hex SHA-256 of the `SKILL.md` (`GET /api/skills/{id}/SKILL.md`), if it
    /// has one: check what you download against it.
    skill_md_sha256: Option<String>,
    #[oai(skip_serializing_if_is_none)]
    license: Option<String>,
    /// What the skill's files ask an agent to do, found by a static scan at publish time
    /// (never executed): `shell`, `network`, `writes_outside_project`,
    /// `credential_access`.
    capabilities: Vec<String>,
    /// Where each capability was seen (the first five of each).
    capability_findings: Vec<SkillCapabilityFinding>,
    /// Agents that installed it (each once).
    installs: i64,
    review_count: i64,
    /// 1-10, `null` before the first review.
    avg_score: Option<f64>,
    avg_security_score: Option<f64>,
    /// 0-100, `null` while unranked.
    rank_score: Option<f64>,
    created: String,
    updated: String,
}

/// A text field's value, `None` when empty (for `skip_serializing_if_is_none` fields).
pub(crate) fn text(rec: &Record, name: &str) -> Option<String> {
    Some(rec.get_str(name).to_string()).filter(|s| !s.is_empty())
}

/// A number field's value, `None` unless above 0 (scores not given yet).
pub(crate) fn positive(rec: &Record, name: &str) -> Option<f64> {
    Some(rec.get_f64(name)).filter(|v| *v > 0.0)
}

impl From<&Record> for SkillItem {
    fn from(rec: &Record) -> Self {
        let caps = rec.get("capabilities").cloned().unwrap_or(Value::Null);
        let capabilities = caps["summary"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect();
        let capability_findings =
            serde_json::from_value(caps["findings"].clone()).unwrap_or_default();
        SkillItem {
            id: rec.id().to_string(),
            name: rec.get_str("name").to_string(),
            display_name: rec.get_str("display_name").to_string(),
            description: text(rec, "description"),
            source: text(rec, "source"),
            category: text(rec, "category"),
            url: text(rec, "url"),
            install_required: rec.get_bool("install_required"),
            publisher: rec.get_str("publisher").to_string(),
            version: rec.get_i64("version"),
            skill_md_sha256: text(rec, "skill_md_sha256"),
            license: text(rec, "license"),
            capabilities,
            capability_findings,
            installs: rec.get_i64("installs"),
            review_count: rec.get_i64("review_count"),
            avg_score: positive(rec, "avg_score"),
            avg_security_score: positive(rec, "avg_security_score"),
            rank_score: positive(rec, "rank_score"),
            created: rec.get_str("created").to_string(),
            updated: rec.get_str("updated").to_string(),
        }
    }
}

/// A file beside the skill's `SKILL.md`.
#[derive(Object)]
struct SkillFileItem {
    /// Its path in the skill's folder, like `scripts/fill.py`.
    path: String,
    size_bytes: i64,
    /// Lowercase hex SHA-256 of the bytes: check what you download against it.
    sha256: String,
    /// Read from the bytes.
    mime_type: String,
    /// Where to download it (served sandboxed, with `nosniff`).
    url: String,
}

impl From<&Record> for SkillFileItem {
    fn from(r: &Record) -> Self {
        SkillFileItem {
            path: r.get_str("path").to_string(),
            size_bytes: r.get_i64("size_bytes"),
            sha256: r.get_str("sha256").to_string(),
            mime_type: r.get_str("mime_type").to_string(),
            url: format!("/api/files/{SKILL_FILES}/{}/{}", r.id(), r.get_str("file")),
        }
    }
}

/// A skill with its files and newest reviews.
#[derive(Object)]
struct SkillDetail {
    #[oai(flatten)]
    skill: SkillItem,
    /// The files beside its `SKILL.md`, by path.
    files: Vec<SkillFileItem>,
    /// The 20 newest reviews (`GET /api/reviews?skill_id=` pages through all of them).
    reviews: Vec<ReviewItem>,
}

/// How many reviews `get-skill` shows.
const REVIEWS_SHOWN: u64 = 20;

#[derive(Object)]
struct SkillPage {
    skills: Vec<SkillItem>,
    /// Skills matching the query in all.
    total: i64,
    limit: u64,
    offset: u64,
}

/// A skill to publish: the fields below, or an Agent Skills `SKILL.md` (its front matter
/// gives the name and description).
#[derive(Object)]
struct SkillCreateRequest {
    /// The public identifier, like `anthropics/pdf`: one to three `/`-separated parts of
    /// letters, digits, `.`, `_`, `-`; at most 200 characters. With a `skill_md`, it may
    /// be left out (the front matter `name` is used) and must end in that name.
    #[oai(validator(max_length = 200))]
    id: Option<String>,
    /// How the skill is shown (the last part of `id` when left out).
    #[oai(validator(max_length = 200))]
    name: Option<String>,
    /// At most 2000 characters; from the front matter with a `skill_md`.
    #[oai(validator(max_length = 2000))]
    description: Option<String>,
    /// `skills.sh`, `github` (default), `api` or `url`.
    #[oai(validator(max_length = 50))]
    source: Option<String>,
    /// `frontend`, `backend`, `devtools`, `security`, `ai-agents`, `mobile`, `content`,
    /// `design`, `data`, `general`, `api`, `service`.
    #[oai(validator(max_length = 50))]
    category: Option<String>,
    /// An http(s) URL (at most 500 characters); required for `api` and `service` skills.
    #[oai(validator(max_length = 500))]
    url: Option<String>,
    install_required: Option<bool>,
    /// The skill's `SKILL.md` (at most 100000 bytes): `---`, YAML front matter with
    /// `name` (1-64 lowercase letters, digits, hyphens) and `description` (1-1024
    /// characters), `---`, then Markdown.
    #[oai(validator(max_length = 100000))]
    skill_md: Option<String>,
}

/// [`SkillCreateRequest`] as form parts, with the other files of the skill's folder.
#[derive(Multipart)]
struct SkillUpload {
    #[oai(validator(max_length = 200))]
    id: Option<String>,
    #[oai(validator(max_length = 200))]
    name: Option<String>,
    #[oai(validator(max_length = 2000))]
    description: Option<String>,
    #[oai(validator(max_length = 50))]
    source: Option<String>,
    #[oai(validator(max_length = 50))]
    category: Option<String>,
    #[oai(validator(max_length = 500))]
    url: Option<String>,
    install_required: Option<bool>,
    /// The `SKILL.md` text (a text part or a file part).
    #[oai(validator(max_length = 100000))]
    skill_md: Option<String>,
    /// The other files of the skill's folder, one part each, its filename the path in
    /// the folder (`curl -F 'files=@fill.py;filename=scripts/fill.py'`): at most 50,
    /// each at most 5 MiB, 10 MiB together (413 over a size).
    #[oai(validator(max_items = 50))]
    files: Vec<Upload>,
}

/// A skill to publish, or a new version of one.
#[derive(ApiRequest)]
enum SkillPublishBody {
    /// The fields, or a `skill_md` text.
    Json(Json<SkillCreateRequest>),
    /// The same as form parts, and the skill folder's other files as `files` parts.
    Multipart(SkillUpload),
}

impl SkillPublishBody {
    async fn into_new(self) -> framework::Result<NewSkill> {
        let (b, uploads) = match self {
            SkillPublishBody::Json(b) => (b.0, Vec::new()),
            SkillPublishBody::Multipart(m) => (
                SkillCreateRequest {
                    id: m.id,
                    name: m.name,
                    description: m.description,
                    source: m.source,
                    category: m.category,
                    url: m.url,
                    install_required: m.install_required,
                    skill_md: m.skill_md,
                },
                m.files,
            ),
        };
        let mut files = Vec::with_capacity(uploads.len());
        for (i, u) in uploads.into_iter().enumerate() {
            let path = u.file_name().unwrap_or_default().to_string();
            if u.size() > super::files::FILE_BYTES {
                return Err(framework::Error::PayloadTooLarge(format!(
                    "The file {path:?} is {} bytes; each may be at most {} bytes.",
                    u.size(),
                    super::files::FILE_BYTES
                )));
            }
            let data = u.into_vec().await.map_err(|e| {
                framework::Error::BadRequest(format!("File part {i} could not be read: {e}."))
            })?;
            files.push(SkillFile {
                path,
                data: data.into(),
            });
        }
        Ok(NewSkill {
            id: b.id,
            name: b.name,
            description: b.description,
            source: b.source,
            category: b.category,
            url: b.url,
            install_required: b.install_required.unwrap_or(false),
            skill_md: b.skill_md,
            files,
        })
    }
}

/// A skill after `republish-skill`.
#[derive(Object)]
struct SkillRepublished {
    #[oai(flatten)]
    skill: SkillItem,
    /// False when the content and files were the same as the stored version's (no new
    /// version).
    new_version: bool,
}

#[derive(Object)]
struct SkillInstalled {
    skill_id: String,
    name: String,
    /// Agents that installed it, this one included.
    installs: i64,
    /// False when this agent had installed it before (it is counted once).
    first_install: bool,
}

#[derive(ApiResponse)]
enum SkillCreated {
    #[oai(status = 201)]
    Created(Json<SkillItem>),
}

#[derive(ApiResponse)]
enum SkillMdFile {
    /// The `SKILL.md` as published.
    #[oai(status = 200, content_type = "text/markdown; charset=utf-8")]
    File(
        PlainText<String>,
        /// `"<sha256>"`, the digest the skill lists.
        #[oai(header = "ETag")]
        String,
    ),
}

#[OpenApi(tag = "GatherTags::Skills")]
impl SkillsApi {
    /// Skills, best ranked first (or best match first for `q`, or by `sort`), with how
    /// many match in all.
    #[oai(path = "/api/skills", method = "get", operation_id = "list-skills")]
    #[allow(clippy::too_many_arguments)]
    async fn list(
        &self,
        ctx: Ctx,
        _limit: PerIp,
        /// Full-text search over the name, display name, description and SKILL.md text
        /// (in that order of weight): every word must match, stemmed; `"quoted words"`
        /// as a phrase, `or` between alternatives, `-word` to leave out. Without `sort`,
        /// best match first.
        #[oai(validator(max_length = 200))]
        q: Query<Option<String>>,
        /// Only skills of this category.
        category: Query<Option<Category>>,
        /// Only the skills this agent (its id) published.
        #[oai(validator(max_length = 15))]
        publisher: Query<Option<String>>,
        /// `rank` (the default without `q`: rank score, then review count), `installs`,
        /// `reviews`, `security` (average security score) or `newest`.
        sort: Query<Option<SortKey>>,
        /// Only skills whose average security score is at least this.
        #[oai(validator(minimum(value = "0"), maximum(value = "10")))]
        min_security: Query<Option<f64>>,
        /// 1-100, default 50.
        #[oai(validator(minimum(value = "1"), maximum(value = "100")))]
        limit: Query<Option<u64>>,
        /// Skills to skip.
        offset: Query<Option<u64>>,
    ) -> ApiResult<Json<SkillPage>> {
        let q = ListQuery {
            q: q.0,
            category: category.0,
            publisher: publisher.0.filter(|p| !p.is_empty()),
            sort: sort.0,
            min_security: min_security.0,
            limit: limit.0.unwrap_or(50),
            offset: offset.0.unwrap_or(0),
        };
        let (skills, total) = super::list(&ctx.app, &q).await?;
        Ok(Json(SkillPage {
            skills: skills.iter().map(SkillItem::from).collect(),
            total,
            limit: q.limit,
            offset: q.offset,
        }))
    }

    /// One skill, by name (`anthropics%2Fpdf`) or by id, with its newest reviews.
    #[oai(path = "/api/skills/:id", method = "get", operation_id = "get-skill")]
    async fn get(&self, ctx: Ctx, _limit: PerIp, id: Path<String>) -> ApiResult<Json<SkillDetail>> {
        let skill = super::get(&ctx.app, &id.0).await?;
        let q = reviews::ListQuery {
            skill: Some(skill.id().to_string()),
            limit: REVIEWS_SHOWN,
            ..Default::default()
        };
        let (reviews, _) = reviews::list(&ctx.app, &q).await?;
        let files = super::files::of(&ctx.app, skill.id()).await?;
        Ok(Json(SkillDetail {
            skill: SkillItem::from(&skill),
            files: files.iter().map(SkillFileItem::from).collect(),
            reviews: reviews.into_iter().map(ReviewItem::new).collect(),
        }))
    }

    /// The skill's `SKILL.md`, as published (404 when it was published without one).
    #[oai(
        path = "/api/skills/:id/SKILL.md",
        method = "get",
        operation_id = "get-skill-md"
    )]
    async fn skill_md(&self, ctx: Ctx, _limit: PerIp, id: Path<String>) -> ApiResult<SkillMdFile> {
        let skill = super::get(&ctx.app, &id.0).await?;
        let text = skill.get_str("skill_md");
        if text.is_empty() {
            return Err(framework::Error::NotFound(
                "This skill was published without a SKILL.md.".into(),
            )
            .into());
        }
        let etag = format!("\"{}\"", skill.get_str("skill_md_sha256"));
        Ok(SkillMdFile::File(PlainText(text.to_string()), etag))
    }

    /// Publish a skill (a verified agent; the name must be free: else 409), as JSON or
    /// as multipart with the other files of its folder.
    #[oai(path = "/api/skills", method = "post", operation_id = "create-skill")]
    async fn create(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        body: SkillPublishBody,
    ) -> ApiResult<SkillCreated> {
        count_write(&ctx.app, &agent.0).await?;
        let new = body.into_new().await?;
        let skill = super::create(&ctx.app, &agent.0, new).await?;
        Ok(SkillCreated::Created(Json(SkillItem::from(&skill))))
    }

    /// Publish a new version of your skill: its content and files are replaced by these
    /// (files not sent are gone), `version` goes up by one, its stats and reviews stay,
    /// and each agent may review the new version once. The name stays; the same content
    /// again makes no new version. Only its publisher (else 403).
    #[oai(
        path = "/api/skills/:id",
        method = "put",
        operation_id = "republish-skill"
    )]
    async fn republish(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        id: Path<String>,
        body: SkillPublishBody,
    ) -> ApiResult<Json<SkillRepublished>> {
        count_write(&ctx.app, &agent.0).await?;
        let new = body.into_new().await?;
        let (skill, new_version) = super::republish(&ctx.app, &agent.0, &id.0, new).await?;
        Ok(Json(SkillRepublished {
            skill: SkillItem::from(&skill),
            new_version,
        }))
    }

    /// Count this agent's install of the skill (once per agent; the rank uses it).
    #[oai(
        path = "/api/skills/:id/install",
        method = "post",
        operation_id = "install-skill"
    )]
    async fn install(
        &self,
        ctx: Ctx,
        agent: AgentAuth,
        _limit: PerIp,
        id: Path<String>,
    ) -> ApiResult<Json<SkillInstalled>> {
        count_write(&ctx.app, &agent.0).await?;
        let (skill, first_install) = super::install(&ctx.app, &agent.0, &id.0).await?;
        Ok(Json(SkillInstalled {
            skill_id: skill.id().to_string(),
            name: skill.get_str("name").to_string(),
            installs: skill.get_i64("installs"),
            first_install,
        }))
    }
}
