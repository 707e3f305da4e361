//! Batches: several record writes from one request, checked one after another and
//! committed together in one transaction, or not at all.

use crate::app::App;
use crate::error::{Error, Result};
use crate::files::FormFile;
use crate::filter::RequestInfo;
use crate::records::commit::commit;
use crate::records::pick::pick;
use crate::records::read::{self as records, Record};
use crate::records::write::{plan_create, plan_delete, plan_update, WritePlan};
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

/// What one request of a batch does.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchAction {
    /// `POST /api/collections/{c}/records`
    Create,
    /// `PUT /api/collections/{c}/records`: update when `body.id` exists, else create.
    Upsert,
    /// `PATCH /api/collections/{c}/records/{id}`
    Update(String),
    /// `DELETE /api/collections/{c}/records/{id}`
    Delete(String),
}

/// One request of a batch.
#[derive(Debug, Clone)]
pub struct BatchRequest {
    pub action: BatchAction,
    /// Collection id or name.
    pub collection: String,
    /// `?expand=` and `?fields=` of the request's URL (and any other query keys, which
    /// rules see as `@request.query.*`).
    pub query: BTreeMap<String, String>,
    /// Extra headers, seen by rules as `@request.headers.*` (names as rules write them).
    pub headers: BTreeMap<String, String>,
    pub body: Map<String, Value>,
    /// Files for the record's file fields, keyed as in a record form (`field`, `field+`).
    pub files: Vec<FormFile>,
    /// For an update or delete by the app: a filter (with bound values) the stored
    /// record must match inside the transaction, else the whole write fails with 409.
    pub guard: Option<(String, crate::filter::Params)>,
}

/// The answer to one request of a committed batch.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchResponse {
    pub status: u16,
    /// The record as the request's `expand`/`fields` shape it; `null` for a delete.
    pub body: Value,
}

/// Records the batch has written so far, by (collection id, record id): `None` once
/// deleted. Later requests start from these instead of the stored rows.
type Written = HashMap<(String, String), Option<Record>>;

/// Runs `requests` as `caller`: each is checked against its collection's rules as it
/// would be alone (with `@request.context = "batch"`), seeing what the batch's earlier
/// requests wrote; then all commit in one transaction. Fails with
/// [`Error::Batch`] naming the first request that failed, and then nothing is written.
pub async fn run(
    app: &App,
    caller: &RequestInfo,
    requests: Vec<BatchRequest>,
) -> Result<Vec<BatchResponse>> {
    let limits = app.settings().batch.clone();
    if !limits.enabled {
        return Err(Error::Forbidden("Batch requests are not allowed.".into()));
    }
    if requests.is_empty() {
        return Err(Error::field(
            "Invalid batch request data.",
            "requests",
            crate::fields::FieldError::required(),
        ));
    }
    if limits.max_requests > 0 && requests.len() > limits.max_requests as usize {
        return Err(Error::field(
            "Invalid batch request data.",
            "requests",
            crate::fields::FieldError::new(
                "validation_length_too_long",
                format!(
                    "The batch may have at most {} requests.",
                    limits.max_requests
                ),
            ),
        ));
    }
    let deadline =
        (limits.timeout > 0).then(|| Instant::now() + Duration::from_secs(limits.timeout.into()));
    // Planned again, as a whole, if a schema change overtakes it.
    let (done, collections, infos) = crate::records::commit::with_schema_retry(app, || {
        plan_and_commit(app, caller, &requests, deadline)
    })
    .await?;
    let mut out = Vec::with_capacity(done.len());
    for (((rec, c), info), r) in done.into_iter().zip(collections).zip(infos).zip(&requests) {
        let Some(rec) = rec else {
            out.push(BatchResponse {
                status: 204,
                body: Value::Null,
            });
            continue;
        };
        // The writes are committed: a failure to shape one answer cannot undo them, so
        // it shows as that answer's error rather than failing the whole batch.
        let body = match shape(app, &c, rec, r, &info).await {
            Ok(v) => v,
            Err(e) => {
                tracing::warn!(error = %e, "cannot shape a batch answer");
                Value::Null
            }
        };
        out.push(BatchResponse { status: 200, body });
    }
    Ok(out)
}

/// Runs `requests` as `caller` in one transaction, without the batch API's limits (the
/// app's own transactions): the written records as `caller` sees them, `None` for deletes.
pub(crate) async fn commit_as(
    app: &App,
    caller: &RequestInfo,
    requests: Vec<BatchRequest>,
) -> Result<Vec<Option<Record>>> {
    let (done, collections, infos) = crate::records::commit::with_schema_retry(app, || {
        plan_and_commit(app, caller, &requests, None)
    })
    .await?;
    let mut out = Vec::with_capacity(done.len());
    for ((rec, c), info) in done.into_iter().zip(collections).zip(infos) {
        match rec {
            Some(mut rec) => {
                records::present(app, &c, &mut rec, &info).await?;
                out.push(Some(rec));
            }
            None => out.push(None),
        }
    }
    Ok(out)
}

/// The written records (`None` for deletes), the collection and request of each.
type Committed = (
    Vec<Option<crate::records::read::Record>>,
    Vec<std::sync::Arc<crate::collections::model::Collection>>,
    Vec<RequestInfo>,
);

/// Checks every request against what the ones before it wrote, then commits them all.
async fn plan_and_commit(
    app: &App,
    caller: &RequestInfo,
    requests: &[BatchRequest],
    deadline: Option<Instant>,
) -> Result<Committed> {
    let mut written = Written::new();
    let mut plans = Vec::with_capacity(requests.len());
    let mut infos = Vec::with_capacity(requests.len());
    for (i, r) in requests.iter().enumerate() {
        let fail = |e: Error| Error::Batch {
            index: i,
            error: Box::new(e),
        };
        if deadline.is_some_and(|d| Instant::now() > d) {
            return Err(fail(Error::BadRequest("The batch took too long.".into())));
        }
        let info = request_info(caller, r);
        let plan = plan(app, &info, r, &written).await.map_err(fail)?;
        let (c, id, after) = plan.outcome();
        written.insert((c.id.clone(), id.to_string()), after.cloned());
        plans.push(plan);
        infos.push(info);
    }
    let collections: Vec<_> = plans.iter().map(|p| p.outcome().0.clone()).collect();
    let done = commit(app, plans, deadline)
        .await
        .map_err(|(index, e)| Error::Batch {
            index,
            error: Box::new(e),
        })?;
    Ok((done, collections, infos))
}

/// The caller's request as one of its batch requests sees it.
fn request_info(caller: &RequestInfo, r: &BatchRequest) -> RequestInfo {
    let mut info = caller.clone();
    info.context = "batch".into();
    info.method = match r.action {
        BatchAction::Create => "POST",
        BatchAction::Upsert => "PUT",
        BatchAction::Update(_) => "PATCH",
        BatchAction::Delete(_) => "DELETE",
    }
    .into();
    info.query = r.query.clone();
    info.headers.extend(r.headers.clone());
    info.body = r.body.clone();
    info
}

async fn plan(
    app: &App,
    info: &RequestInfo,
    r: &BatchRequest,
    written: &Written,
) -> Result<WritePlan> {
    let c = app.collection(&r.collection)?;
    let mut planned = plan_unguarded(app, &c, info, r, written).await?;
    if let Some((filter, params)) = &r.guard {
        planned.step.guard(app, filter, params)?;
    }
    Ok(planned)
}

async fn plan_unguarded(
    app: &App,
    c: &std::sync::Arc<crate::collections::model::Collection>,
    info: &RequestInfo,
    r: &BatchRequest,
    written: &Written,
) -> Result<WritePlan> {
    let c = c.clone();
    let known = |id: &str| written.get(&(c.id.clone(), id.to_string()));
    let body = r.body.clone();
    match &r.action {
        BatchAction::Create => plan_create(app, &c, info, body, r.files.clone()).await,
        BatchAction::Update(id) => match known(id) {
            Some(None) => Err(Error::not_found()),
            Some(Some(rec)) => {
                plan_update(app, &c, id, info, body, r.files.clone(), Some(rec.clone())).await
            }
            None => plan_update(app, &c, id, info, body, r.files.clone(), None).await,
        },
        BatchAction::Delete(id) => match known(id) {
            Some(None) => Err(Error::not_found()),
            Some(Some(rec)) => plan_delete(app, &c, id, info, Some(rec.clone())).await,
            None => plan_delete(app, &c, id, info, None).await,
        },
        BatchAction::Upsert => {
            let id = body
                .get("id")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string);
            let Some(id) = id else {
                return plan_create(app, &c, info, body, r.files.clone()).await;
            };
            match known(&id) {
                Some(Some(rec)) => {
                    plan_update(app, &c, &id, info, body, r.files.clone(), Some(rec.clone())).await
                }
                Some(None) => plan_create(app, &c, info, body, r.files.clone()).await,
                None if records::exists(app, &c, &id).await? => {
                    plan_update(app, &c, &id, info, body, r.files.clone(), None).await
                }
                None => plan_create(app, &c, info, body, r.files.clone()).await,
            }
        }
    }
}

/// A written record as the request's `expand` and `fields` ask to see it.
async fn shape(
    app: &App,
    c: &std::sync::Arc<crate::collections::model::Collection>,
    rec: Record,
    r: &BatchRequest,
    info: &RequestInfo,
) -> Result<Value> {
    let expand = r.query.get("expand").map(String::as_str);
    let expand = expand.filter(|e| !e.trim().is_empty());
    let rec = records::show(app, c, rec, expand, info).await?;
    Ok(pick(
        Value::Object(rec),
        r.query.get("fields").map(String::as_str),
    ))
}
