//! Secrets the server signs with, kept outside the database: from the environment, from
//! a file an operator names, or from a file the server makes once with mode 0600.
//!
//! A copy of the database (a leaked dump, a backup) therefore holds no key that signs
//! anything. On PostgreSQL several instances share one database and must share each
//! secret too, so there the secret must be given explicitly.

use crate::db::Dialect;
use crate::error::{Error, Result};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Shortest secret accepted, in bytes.
pub const MIN_LEN: usize = 32;

/// Where one named secret may come from.
#[derive(Debug, Clone, Copy)]
pub struct SecretSpec {
    /// `<secrets dir>/<name>.key`, and its key in [`crate::app::Config::secret_files`].
    pub name: &'static str,
    /// The environment variable holding the secret itself.
    pub value_env: &'static str,
    /// The environment variable naming a file that holds it.
    pub file_env: &'static str,
}

/// The framework's own secret, mixed into the signing key of every record token.
pub const TOKEN_SECRET: SecretSpec = SecretSpec {
    name: "token",
    value_env: "TOKEN_SECRET",
    file_env: "TOKEN_SECRET_FILE",
};

/// What decides where a secret is read from.
#[derive(Debug, Clone)]
pub(crate) struct SecretPlaces<'a> {
    pub dialect: Dialect,
    pub data_dir: &'a Path,
    /// An explicitly configured directory (`--secrets-dir`): shared, so allowed anywhere.
    pub secrets_dir: Option<&'a Path>,
    /// An explicitly configured file for this secret.
    pub file: Option<&'a Path>,
    /// How the operator names a shared secrets directory (see `Config::secrets_dir_hint`).
    pub secrets_dir_hint: &'a str,
}

/// Reads (or on first use creates) the secret `spec`. `legacy` is a value kept somewhere
/// less safe before (the database): it becomes the file's content when the file does not
/// exist yet, so tokens signed with it keep working after the move.
pub(crate) fn load(
    spec: &SecretSpec,
    places: &SecretPlaces,
    legacy: Option<&str>,
) -> Result<Vec<u8>> {
    if let Ok(v) = std::env::var(spec.value_env) {
        if !v.is_empty() {
            return checked(spec, v.into_bytes(), spec.value_env);
        }
    }
    let from_env = std::env::var_os(spec.file_env).map(PathBuf::from);
    let path = match (places.file, from_env, places.secrets_dir) {
        (Some(f), _, _) => f.to_path_buf(),
        (None, Some(f), _) => f,
        (None, None, Some(dir)) => dir.join(format!("{}.key", spec.name)),
        (None, None, None) if places.dialect == Dialect::Sqlite => places
            .data_dir
            .join("secrets")
            .join(format!("{}.key", spec.name)),
        (None, None, None) => {
            return Err(Error::BadRequest(format!(
                "On PostgreSQL every instance must use the same '{name}' secret, and it is \
                 not kept in the database: set {value} (at least {MIN_LEN} bytes), or point \
                 {file} at a file every instance reads, or give all instances the same \
                 {hint} holding {name}.key.",
                hint = places.secrets_dir_hint,
                name = spec.name,
                value = spec.value_env,
                file = spec.file_env,
            )))
        }
    };
    let value = read_or_create(&path, legacy)?;
    checked(spec, value, &path.display().to_string())
}

fn checked(spec: &SecretSpec, value: Vec<u8>, from: &str) -> Result<Vec<u8>> {
    if value.len() < MIN_LEN {
        return Err(Error::BadRequest(format!(
            "The '{}' secret from {from} must be at least {MIN_LEN} bytes long.",
            spec.name
        )));
    }
    Ok(value)
}

fn io_error(path: &Path, e: std::io::Error) -> Error {
    Error::internal(format!("secret file {}: {e}", path.display()))
}

/// The file's content without surrounding whitespace; a missing file is made first, with
/// `initial` or 64 random characters, readable by this user only.
fn read_or_create(path: &Path, initial: Option<&str>) -> Result<Vec<u8>> {
    match std::fs::read(path) {
        Ok(bytes) => return Ok(trimmed(bytes)),
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => return Err(io_error(path, e)),
        Err(_) => {}
    }
    let dir = path.parent().unwrap_or(Path::new("."));
    create_private_dir(dir).map_err(|e| io_error(dir, e))?;
    let value = match initial {
        Some(v) => v.to_string(),
        None => crate::collections::ids::random_token(64),
    };
    // Written whole to a private temporary file, then linked into place: a second
    // process starting at the same moment either links first or reads a complete file.
    let tmp = dir.join(format!(
        ".{}.{}",
        crate::collections::ids::random_token(12),
        "tmp"
    ));
    let write = || -> std::io::Result<()> {
        let mut f = private_file(&tmp)?;
        f.write_all(value.as_bytes())?;
        f.sync_all()
    };
    let made = write().and_then(|_| std::fs::hard_link(&tmp, path));
    let _ = std::fs::remove_file(&tmp);
    match made {
        Ok(()) => Ok(value.into_bytes()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => std::fs::read(path)
            .map(trimmed)
            .map_err(|e| io_error(path, e)),
        Err(e) => Err(io_error(path, e)),
    }
}

fn trimmed(bytes: Vec<u8>) -> Vec<u8> {
    String::from_utf8_lossy(&bytes).trim().as_bytes().to_vec()
}

#[cfg(unix)]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
}

#[cfg(not(unix))]
fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

#[cfg(unix)]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

#[cfg(not(unix))]
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: SecretSpec = SecretSpec {
        name: "unit",
        value_env: "UNIT_TEST_SECRET_UNSET",
        file_env: "UNIT_TEST_SECRET_FILE_UNSET",
    };

    fn temp_dir() -> PathBuf {
        let d = std::env::temp_dir().join(format!(
            "secrets_test_{}",
            crate::collections::ids::random_token(10)
        ));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    /// The default places on SQLite: the data directory's `secrets/`.
    fn sqlite_places(data: &Path) -> SecretPlaces<'_> {
        SecretPlaces {
            dialect: Dialect::Sqlite,
            data_dir: data,
            secrets_dir: None,
            secrets_dir_hint: "secrets directory",
            file: None,
        }
    }

    #[test]
    fn made_once_private_and_read_back() {
        let data = temp_dir();
        let places = sqlite_places(&data);
        let first = load(&SPEC, &places, None).unwrap();
        assert_eq!(first.len(), 64);
        assert_eq!(load(&SPEC, &places, None).unwrap(), first);
        let path = data.join("secrets/unit.key");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            let dir_mode = std::fs::metadata(data.join("secrets"))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(dir_mode & 0o077, 0);
        }
        // A legacy value does not replace an existing file.
        assert_eq!(load(&SPEC, &places, Some(&"x".repeat(40))).unwrap(), first);
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn legacy_values_move_into_a_new_file() {
        let data = temp_dir();
        let places = sqlite_places(&data);
        let old = "o".repeat(48);
        assert_eq!(load(&SPEC, &places, Some(&old)).unwrap(), old.as_bytes());
        std::fs::remove_dir_all(&data).unwrap();
    }

    #[test]
    fn postgres_needs_an_explicit_place_and_short_secrets_are_refused() {
        let data = temp_dir();
        let mut places = SecretPlaces {
            dialect: Dialect::Postgres,
            data_dir: &data,
            secrets_dir: None,
            secrets_dir_hint: "--secrets-dir",
            file: None,
        };
        let err = load(&SPEC, &places, None).unwrap_err().to_string();
        assert!(
            err.contains(SPEC.value_env) && err.contains("same --secrets-dir holding"),
            "{err}"
        );
        let file = data.join("given.key");
        std::fs::write(&file, "short\n").unwrap();
        places.file = Some(&file);
        assert!(load(&SPEC, &places, None).is_err());
        std::fs::write(&file, format!("{}\n", "k".repeat(32))).unwrap();
        assert_eq!(
            load(&SPEC, &places, None).unwrap(),
            "k".repeat(32).as_bytes()
        );
        std::fs::remove_dir_all(&data).unwrap();
    }
}
