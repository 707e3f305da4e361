//! `App`: the one handle to the database, the collection registry, hooks and config.

use crate::collections::model::Collection;
use crate::collections::registry::Registry;
use crate::db::{Db, DbTarget, Dialect};
use crate::error::{Error, Result};
use crate::hooks::Hooks;
use sea_orm_migration::MigratorTrait;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// Runtime configuration, from flags and environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// The app's name: the OpenAPI document's title, the `User-Agent` of outgoing
    /// requests, and the settings' `meta.appName` until an operator changes it.
    pub name: String,
    pub data_dir: PathBuf,
    /// `postgres://...`; `None` = SQLite in `data_dir`.
    pub database_url: Option<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_size: usize,
    /// How often to look for schema changes made by other instances sharing the database.
    pub schema_poll: std::time::Duration,
    /// Realtime messages a client may have waiting before it is disconnected.
    pub realtime_queue: usize,
    /// A directory of secrets shared by every instance (`--secrets-dir`). `None`:
    /// `<data_dir>/secrets`, which only SQLite may use (see `secrets`).
    pub secrets_dir: Option<PathBuf>,
    /// Files named for single secrets, by [`crate::secrets::SecretSpec::name`].
    pub secret_files: std::collections::BTreeMap<String, PathBuf>,
    /// Where the secret mixed into every record token's signing key is read from
    /// (its environment variables; [`crate::secrets::TOKEN_SECRET`] by default).
    pub token_secret: crate::secrets::SecretSpec,
    /// How an operator gives every instance the same secrets directory, for the error
    /// that asks for it (a command line names its flag here).
    pub secrets_dir_hint: String,
    /// The PostgreSQL `LISTEN`/`NOTIFY` channel that carries realtime changes between
    /// instances; every instance on one database must use the same one.
    pub realtime_channel: String,
    /// Timeouts and the connection cap of the HTTP listener.
    pub http: HttpLimits,
}

/// Limits of the HTTP listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HttpLimits {
    /// Time a client has to send a request's headers; also how long a keep-alive
    /// connection may wait idle for its next request.
    pub header_timeout: std::time::Duration,
    /// Time a client has to send a request's body once its headers are in (408 after).
    pub body_timeout: std::time::Duration,
    /// Open connections at most; past it a new connection gets a 503 and is closed.
    pub max_connections: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        HttpLimits {
            header_timeout: std::time::Duration::from_secs(10),
            body_timeout: std::time::Duration::from_secs(30),
            max_connections: 10_000,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            name: "App".into(),
            data_dir: PathBuf::from("app_data"),
            database_url: None,
            max_body_size: 32 << 20,
            schema_poll: std::time::Duration::from_secs(2),
            realtime_queue: crate::realtime::broker::QUEUE,
            secrets_dir: None,
            secret_files: Default::default(),
            token_secret: crate::secrets::TOKEN_SECRET,
            secrets_dir_hint: "secrets directory".into(),
            realtime_channel: "realtime_changes".into(),
            http: HttpLimits::default(),
        }
    }
}

impl Config {
    fn secret_of(
        &self,
        dialect: Dialect,
        spec: &crate::secrets::SecretSpec,
        legacy: Option<&str>,
    ) -> Result<Vec<u8>> {
        let places = crate::secrets::SecretPlaces {
            dialect,
            data_dir: &self.data_dir,
            secrets_dir: self.secrets_dir.as_deref(),
            file: self.secret_files.get(spec.name).map(PathBuf::as_path),
            secrets_dir_hint: &self.secrets_dir_hint,
        };
        crate::secrets::load(spec, &places, legacy)
    }

    pub fn db_target(&self) -> DbTarget {
        match &self.database_url {
            Some(url) if url.starts_with("postgres") => DbTarget::Postgres(url.clone()),
            _ => DbTarget::SqliteDir(self.data_dir.clone()),
        }
    }
}

/// Cheap to clone; every part of the server holds one.
#[derive(Clone)]
pub struct App {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    /// SQLite's auxiliary file (the logs); none on PostgreSQL.
    logs_db: Option<Db>,
    config: Config,
    registry: RwLock<Arc<Registry>>,
    /// Row count and newest `updated` of `_collections` when the registry was loaded.
    schema_mark: std::sync::Mutex<(i64, String)>,
    hooks: Hooks,
    hasher: crate::auth::hasher::Hasher,
    auth_cache: crate::auth::cache::AuthCache,
    recent_records: crate::records::recent::RecentRecords,
    counts: crate::records::count_cache::CountCache,
    settings: RwLock<Arc<crate::settings::model::Settings>>,
    /// Outgoing HTTP (OAuth2 providers): rustls, no redirects followed. Made on first
    /// use: its root certificates cost memory an instance without OAuth2 never needs.
    http: std::sync::OnceLock<std::result::Result<reqwest::Client, String>>,
    realtime: crate::realtime::broker::Broker,
    /// Announces changes to other instances (PostgreSQL); `None` on SQLite.
    announcer: std::sync::OnceLock<crate::realtime::postgres::Announcer>,
    /// Tells this instance's own announcements from others'.
    instance_id: String,
    /// Mixed into every record token's signing key; never in the database.
    token_secret: Vec<u8>,
    /// Where log entries queue for the background writer.
    logs: std::sync::OnceLock<crate::logs::LogQueue>,
    /// What apps built on the framework keep here, one value per type.
    state:
        RwLock<std::collections::HashMap<std::any::TypeId, Arc<dyn std::any::Any + Send + Sync>>>,
    /// Where record files are kept, and the S3 settings it was made from (`None`: the
    /// local directory).
    files: RwLock<Arc<dyn crate::files::FileStorage>>,
    files_s3: std::sync::Mutex<Option<crate::settings::model::S3>>,
    /// OIDC discovery documents by URL, with when they were fetched.
    discovery: std::sync::Mutex<
        std::collections::HashMap<String, (std::time::Instant, serde_json::Value)>,
    >,
    /// Apps' own bearer tokens accepted as callers ([`App::accept_tokens`]).
    token_resolvers: RwLock<Arc<Vec<crate::auth::app_tokens::AcceptedTokens>>>,
}

/// An `App` that does not keep it alive, for background tasks.
pub(crate) struct WeakApp(std::sync::Weak<Inner>);

impl WeakApp {
    pub(crate) fn upgrade(&self) -> Option<App> {
        self.0.upgrade().map(|inner| App { inner })
    }
}

/// A code migration: runs once, in order, recorded in `_migrations` by name.
pub struct CodeMigration {
    pub name: String,
    pub run: Box<dyn Fn(App) -> futures::future::BoxFuture<'static, Result<()>> + Send + Sync>,
}

impl CodeMigration {
    /// `name` must be unique and never change once released; `run` gets the app.
    pub fn new<F, Fut>(name: &str, run: F) -> Self
    where
        F: Fn(App) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<()>> + Send + 'static,
    {
        CodeMigration {
            name: name.to_string(),
            run: Box::new(move |app| Box::pin(run(app))),
        }
    }
}

impl App {
    /// Connects, applies the system migrations and loads the collections.
    pub async fn open(config: Config) -> Result<App> {
        let db = Db::connect(&config.db_target()).await?;
        let logs_db = Db::connect_auxiliary(&config.db_target()).await?;
        let token_secret = config.secret_of(db.dialect, &config.token_secret, None)?;
        let (realtime, changes) = crate::realtime::broker::Broker::new(config.realtime_queue);
        db.with_migration_lock(async {
            framework_migrations::Migrator::up(&db.sea, None).await?;
            Ok::<_, Error>(())
        })
        .await?;
        let files: Arc<dyn crate::files::FileStorage> = Arc::new(crate::files::LocalStorage::new(
            config.data_dir.join("storage"),
        ));
        let inner = Inner {
            db,
            logs_db,
            files: RwLock::new(files),
            files_s3: std::sync::Mutex::new(None),
            state: RwLock::default(),
            logs: std::sync::OnceLock::new(),
            config,
            registry: RwLock::new(Arc::default()),
            schema_mark: std::sync::Mutex::new((0, String::new())),
            hooks: Hooks::default(),
            auth_cache: Default::default(),
            recent_records: Default::default(),
            counts: Default::default(),
            settings: RwLock::new(Arc::default()),
            http: std::sync::OnceLock::new(),
            discovery: Default::default(),
            token_resolvers: RwLock::default(),
            realtime,
            announcer: std::sync::OnceLock::new(),
            instance_id: crate::collections::ids::random_token(16),
            token_secret,
            hasher: crate::auth::hasher::Hasher::new(
                std::thread::available_parallelism()
                    .map(|n| n.get())
                    .unwrap_or(2),
            ),
        };
        let app = App {
            inner: Arc::new(inner),
        };
        app.db()
            .with_migration_lock(async {
                app.reload_collections().await?;
                crate::collections::bootstrap::ensure_system_collections(&app).await?;
                crate::collections::bootstrap::ensure_auto_indexes(&app).await
            })
            .await?;
        app.watch_schema();
        let _ = app.inner.logs.set(crate::logs::LogQueue::start(&app));
        app.deliver_changes(changes);
        if app.dialect() == Dialect::Postgres {
            let announcer = crate::realtime::postgres::start(&app).await;
            let _ = app.inner.announcer.set(announcer);
        }
        Ok(app)
    }

    /// Switches file storage when the S3 settings changed (here or in another instance).
    fn use_storage(&self, s3: &crate::settings::model::S3) {
        let wanted = s3.enabled.then(|| s3.clone());
        let Ok(mut current) = self.inner.files_s3.lock() else {
            return;
        };
        if *current == wanted {
            return;
        }
        let storage: Arc<dyn crate::files::FileStorage> = match &wanted {
            None => Arc::new(crate::files::LocalStorage::new(
                self.inner.config.data_dir.join("storage"),
            )),
            Some(cfg) => match crate::files::S3Storage::new(cfg) {
                Ok(s) => Arc::new(s),
                Err(e) => {
                    tracing::error!(error = %e, "cannot use the S3 settings; files stay where they were");
                    return;
                }
            },
        };
        if let Ok(mut w) = self.inner.files.write() {
            *w = storage;
            *current = wanted;
            tracing::info!(s3 = current.is_some(), "file storage set");
        }
    }

    /// Keeps `value` for code that has this App (an app's shared state: its settings
    /// cache, its limiters); one value per type, replacing an earlier one.
    pub fn put_state<T: Send + Sync + 'static>(&self, value: T) {
        if let Ok(mut s) = self.inner.state.write() {
            s.insert(std::any::TypeId::of::<T>(), Arc::new(value));
        }
    }

    /// Serves `site`'s web pages beside the API (see [`crate::http::Site`]); call it
    /// before the server starts.
    pub fn serve_site(&self, site: crate::http::Site) {
        self.put_state(site);
    }

    /// What `/mcp` offers: which operations are tools, the sign-in, resources and
    /// prompts. Without it the MCP server has only the framework's routes, and those only
    /// when the operator sets `mcp.coreTools`.
    pub fn serve_mcp(&self, options: crate::mcp::McpOptions) {
        self.put_state(options);
    }

    /// The value of type `T` given to [`App::put_state`], if any.
    pub fn state<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let s = self.inner.state.read().ok()?;
        s.get(&std::any::TypeId::of::<T>())?
            .clone()
            .downcast::<T>()
            .ok()
    }

    pub(crate) fn token_resolvers(&self) -> Arc<Vec<crate::auth::app_tokens::AcceptedTokens>> {
        self.inner
            .token_resolvers
            .read()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Adds `accepted`, replacing an earlier resolver for the same collection.
    pub(crate) fn set_token_resolvers(&self, accepted: crate::auth::app_tokens::AcceptedTokens) {
        if let Ok(mut r) = self.inner.token_resolvers.write() {
            let mut all: Vec<_> = r
                .iter()
                .filter(|a| a.collection != accepted.collection)
                .map(|a| crate::auth::app_tokens::AcceptedTokens {
                    collection: a.collection.clone(),
                    resolve: a.resolve.clone(),
                })
                .collect();
            all.push(accepted);
            *r = Arc::new(all);
        }
    }

    pub(crate) fn log_queue(&self) -> Option<&crate::logs::LogQueue> {
        self.inner.logs.get()
    }

    /// The storage record files are kept in.
    pub fn files(&self) -> Arc<dyn crate::files::FileStorage> {
        self.inner
            .files
            .read()
            .map(|f| f.clone())
            .unwrap_or_else(|p| p.into_inner().clone())
    }

    /// The database that holds tables of `store`.
    pub(crate) fn db_of(&self, store: crate::filter::Store) -> &Db {
        match (store, &self.inner.logs_db) {
            (crate::filter::Store::Auxiliary, Some(db)) => db,
            _ => &self.inner.db,
        }
    }

    /// Where the logs are (SQLite: `auxiliary.db`; PostgreSQL: the main database).
    pub(crate) fn logs_db(&self) -> &Db {
        self.db_of(crate::filter::Store::Auxiliary)
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    pub fn dialect(&self) -> Dialect {
        self.inner.db.dialect
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// An app's secret, kept outside the database (see [`crate::secrets`]): from its
    /// environment variable, its configured file, or a file made once. `legacy` is the
    /// value an older version kept elsewhere, written to the file when it is first made.
    pub fn secret(
        &self,
        spec: &crate::secrets::SecretSpec,
        legacy: Option<&str>,
    ) -> Result<Vec<u8>> {
        self.inner.config.secret_of(self.dialect(), spec, legacy)
    }

    /// The server secret mixed into record tokens' signing keys.
    pub(crate) fn token_secret(&self) -> &[u8] {
        &self.inner.token_secret
    }

    pub fn hooks(&self) -> &Hooks {
        &self.inner.hooks
    }

    /// Sends `data` to this instance's realtime clients subscribed to the custom `topic`
    /// (PocketBase's custom messages); returns how many got it.
    pub fn publish(&self, topic: &str, data: &serde_json::Value) -> usize {
        self.realtime().send_custom(topic, data)
    }

    /// The current snapshot of all collections.
    pub(crate) fn registry(&self) -> Arc<Registry> {
        self.inner
            .registry
            .read()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Every collection, system ones included, as they are now.
    pub fn collections(&self) -> Vec<Arc<Collection>> {
        self.registry().all().to_vec()
    }

    /// The collection with this id or name.
    pub fn collection(&self, id_or_name: &str) -> Result<Arc<Collection>> {
        self.registry()
            .find(id_or_name)
            .ok_or_else(|| Error::NotFound("Missing collection context.".into()))
    }

    /// Re-reads the collection registry and the settings from the database (after any
    /// change to either, here or, through the poll, in another instance).
    pub(crate) async fn reload_collections(&self) -> Result<()> {
        let mark = crate::collections::store::schema_mark(self).await?;
        let list = crate::collections::store::load_all(self).await?;
        let settings = Arc::new(self.load_settings().await?);
        self.use_storage(&settings.s3);
        if let Ok(mut w) = self.inner.settings.write() {
            *w = settings;
        }
        let reg = Arc::new(Registry::new(list));
        if let Ok(mut w) = self.inner.registry.write() {
            *w = reg;
        }
        if let Ok(mut m) = self.inner.schema_mark.lock() {
            *m = mark;
        }
        self.inner.auth_cache.clear();
        self.inner.recent_records.clear();
        self.db().forget_prepared();
        Ok(())
    }

    /// Polls `_collections` so schema changes made by another instance (or process)
    /// sharing the database reach this one. Stops when the app is dropped.
    fn watch_schema(&self) {
        let weak = Arc::downgrade(&self.inner);
        let every = self.inner.config.schema_poll;
        tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = weak.upgrade() else { return };
                let app = App { inner };
                let Ok(now) = crate::collections::store::schema_mark(&app).await else {
                    continue;
                };
                let changed = app
                    .inner
                    .schema_mark
                    .lock()
                    .map(|m| *m != now)
                    .unwrap_or(false);
                if changed {
                    tracing::info!("collections changed elsewhere; reloading");
                    if let Err(e) = app.reload_collections().await {
                        tracing::error!(error = %e, "cannot reload collections");
                    }
                }
            }
        });
    }

    /// Hands record changes to realtime subscribers, in commit order, on a task of its
    /// own. Stops when the app is dropped.
    fn deliver_changes(&self, mut queue: crate::realtime::broker::ChangeQueue) {
        let weak = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(change) = queue.next().await {
                let Some(inner) = weak.upgrade() else { return };
                crate::realtime::broker::handle(&App { inner }, change).await;
            }
        });
    }

    pub(crate) fn downgrade(&self) -> WeakApp {
        WeakApp(Arc::downgrade(&self.inner))
    }

    /// A random id for this running instance.
    pub(crate) fn instance_id(&self) -> &str {
        &self.inner.instance_id
    }

    /// Where this instance announces its changes to the others, if they can hear.
    pub(crate) fn announcer(&self) -> Option<&crate::realtime::postgres::Announcer> {
        self.inner.announcer.get()
    }

    /// The realtime clients of this instance.
    pub(crate) fn realtime(&self) -> &crate::realtime::broker::Broker {
        &self.inner.realtime
    }

    /// The current settings.
    pub fn settings(&self) -> Arc<crate::settings::model::Settings> {
        self.inner
            .settings
            .read()
            .map(|s| s.clone())
            .unwrap_or_default()
    }

    async fn load_settings(&self) -> Result<crate::settings::model::Settings> {
        match crate::settings::params::load(self, crate::settings::model::SETTINGS_KEY).await? {
            None => Ok(crate::settings::model::Settings::named(&self.config().name)),
            Some(v) => {
                serde_json::from_value(v).map_err(|e| Error::internal_from("corrupt settings", e))
            }
        }
    }

    /// Validates and stores a partial settings update; returns the new settings.
    pub async fn update_settings(
        &self,
        patch: &serde_json::Value,
    ) -> Result<Arc<crate::settings::model::Settings>> {
        let next = self.settings().merged(patch)?;
        if next.s3.enabled {
            crate::files::S3Storage::new(&next.s3)?;
        }
        let value = serde_json::to_value(&next)
            .map_err(|e| Error::internal_from("cannot encode the settings", e))?;
        crate::settings::params::save(self, crate::settings::model::SETTINGS_KEY, &value).await?;
        self.reload_collections().await?;
        Ok(self.settings())
    }

    /// The client for calls to other services.
    pub fn http(&self) -> Result<&reqwest::Client> {
        self.inner
            .http
            .get_or_init(|| {
                reqwest::Client::builder()
                    .redirect(reqwest::redirect::Policy::none())
                    .timeout(std::time::Duration::from_secs(15))
                    .user_agent(format!(
                        "{}/{}",
                        self.config().name,
                        env!("CARGO_PKG_VERSION")
                    ))
                    .build()
                    .map_err(|e| e.to_string())
            })
            .as_ref()
            .map_err(|e| Error::internal(format!("cannot build the HTTP client: {e}")))
    }

    /// A JSON document fetched from `url`, kept for `ttl`.
    pub(crate) async fn cached_json(
        &self,
        url: &str,
        ttl: std::time::Duration,
    ) -> Result<serde_json::Value> {
        if let Ok(cache) = self.inner.discovery.lock() {
            if let Some((_, v)) = cache.get(url).filter(|(at, _)| at.elapsed() < ttl) {
                return Ok(v.clone());
            }
        }
        let err = |e: reqwest::Error| Error::BadRequest(format!("Cannot fetch {url}: {e}."));
        let v: serde_json::Value = self
            .http()?
            .get(url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(err)?
            .json()
            .await
            .map_err(err)?;
        if let Ok(mut cache) = self.inner.discovery.lock() {
            cache.insert(url.to_string(), (std::time::Instant::now(), v.clone()));
        }
        Ok(v)
    }

    /// Auth records behind tokens, cached briefly.
    pub(crate) fn recent_records(&self) -> &crate::records::recent::RecentRecords {
        &self.inner.recent_records
    }

    pub(crate) fn auth_cache(&self) -> &crate::auth::cache::AuthCache {
        &self.inner.auth_cache
    }

    /// Counts of list queries, kept until the next write (SQLite only).
    pub(crate) fn counts(&self) -> &crate::records::count_cache::CountCache {
        &self.inner.counts
    }

    /// Hashes a password (argon2id) on the hashing threads.
    pub async fn hash_password(&self, password: &str) -> Result<String> {
        let cost = self.settings().password_hashing.clone();
        self.inner.hasher.hash(password, &cost).await
    }

    /// Checks a password against a stored hash on the hashing threads.
    pub async fn verify_password(&self, password: &str, hash: &str) -> bool {
        self.inner.hasher.verify(password, hash).await
    }

    /// Applies code migrations not yet recorded, in order.
    pub async fn run_code_migrations(&self, migrations: &[CodeMigration]) -> Result<()> {
        // One instance at a time; another that started at the same moment waits, sees
        // what this one applied (its registry reloaded) and skips it.
        self.db()
            .with_migration_lock(async {
                self.reload_collections().await?;
                for m in migrations {
                    if crate::collections::bootstrap::migration_applied(self, &m.name).await? {
                        continue;
                    }
                    tracing::info!(migration = %m.name, "applying code migration");
                    (m.run)(self.clone()).await?;
                    crate::collections::bootstrap::record_migration(self, &m.name).await?;
                }
                Ok(())
            })
            .await
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        std::io::Error::other(e.to_string())
    }
}
