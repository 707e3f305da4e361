//! Files in an S3-compatible bucket (`object_store`), so several instances on different
//! machines share them.

use super::{check_key, FileStorage, StoredFile};
use crate::error::{Error, Result};
use crate::settings::model::S3;
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path;
use object_store::ObjectStore;

pub struct S3Storage {
    store: AmazonS3,
}

fn s3_error(e: object_store::Error) -> Error {
    Error::internal_from("S3 storage", e)
}

impl S3Storage {
    pub fn new(cfg: &S3) -> Result<S3Storage> {
        let store = AmazonS3Builder::new()
            .with_bucket_name(&cfg.bucket)
            .with_region(&cfg.region)
            .with_endpoint(cfg.endpoint.trim_end_matches('/'))
            .with_access_key_id(&cfg.access_key)
            .with_secret_access_key(&cfg.secret)
            .with_virtual_hosted_style_request(!cfg.force_path_style)
            // A request waits at most ~30 s; a bucket that cannot be reached fails fast.
            .with_retry(object_store::RetryConfig {
                max_retries: 2,
                retry_timeout: std::time::Duration::from_secs(10),
                ..Default::default()
            })
            .with_client_options(
                // Client options replace the builder's own: `allow_http` belongs here.
                object_store::ClientOptions::new()
                    .with_allow_http(cfg.endpoint.starts_with("http://"))
                    .with_connect_timeout(std::time::Duration::from_secs(5))
                    .with_timeout(std::time::Duration::from_secs(30)),
            )
            .build()
            .map_err(|e| Error::BadRequest(format!("Invalid S3 settings: {e}.")))?;
        Ok(S3Storage { store })
    }

    fn path(key: &str) -> Result<Path> {
        check_key(key)?;
        Path::parse(key).map_err(|e| Error::BadRequest(format!("Invalid file key: {e}.")))
    }
}

#[async_trait::async_trait]
impl FileStorage for S3Storage {
    async fn put(&self, key: &str, data: Bytes) -> Result<()> {
        self.store
            .put(&Self::path(key)?, data.into())
            .await
            .map_err(s3_error)?;
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<StoredFile>> {
        let got = match self.store.get(&Self::path(key)?).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(s3_error(e)),
        };
        let modified = Some(std::time::SystemTime::from(got.meta.last_modified));
        let data = got.bytes().await.map_err(s3_error)?;
        Ok(Some(StoredFile { data, modified }))
    }

    async fn delete(&self, key: &str) -> Result<()> {
        match self.store.delete(&Self::path(key)?).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(s3_error(e)),
        }
    }

    async fn delete_prefix(&self, prefix: &str) -> Result<()> {
        let prefix = Self::path(prefix)?;
        let keys = self
            .store
            .list(Some(&prefix))
            .map_ok(|meta| meta.location)
            .boxed();
        let mut gone = self.store.delete_stream(keys);
        while let Some(r) = gone.next().await {
            match r {
                Ok(_) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(s3_error(e)),
            }
        }
        Ok(())
    }
}
