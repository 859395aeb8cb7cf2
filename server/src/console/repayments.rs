//! The repayment CSV import page, linked from the cases page: the file
//! uploaded or pasted, checked first, then imported whole or not at all,
//! through the same service as the `import-repayments` command
//! ([`crate::service::repayments`]): a supervisor imports for their own
//! team's accounts, an admin for any. Problems are listed by line, column and
//! code, never by content.

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::response::Response;

use super::cases::{ImportResult, read_import};
use super::{Chrome, ConsoleState, Signed, app_failure, blocking, render};
use crate::admin::CsvImportError;
use crate::service::repayments::{self, Importer};

/// The import page.
#[derive(askama::Template)]
#[template(path = "console/repayments_import.html")]
pub struct RepaymentsImportPage {
    /// Header and menu.
    pub chrome: Chrome,
    /// What the last form did, if one was sent.
    pub result: Option<ImportResult>,
}

/// `GET /console/repayments/import`.
pub async fn import_page(signed: Signed) -> Response {
    let page = RepaymentsImportPage {
        chrome: signed.chrome(),
        result: None,
    };
    render(signed.lang, StatusCode::OK, &page)
}

/// `POST /console/repayments/import`: checks the file (`run=check`), or
/// checks and imports it (`run=import`). A file with problems answers 422
/// and imports nothing.
pub async fn import(
    State(state): State<ConsoleState>,
    signed: Signed,
    request: Request,
) -> Response {
    let lang = signed.lang;
    let form = match read_import(request).await {
        Ok(form) => form,
        // Too large for the body limit, or not a form: nothing to check.
        Err(status) => return super::cases::upload_refused(lang, status),
    };
    if !signed.csrf_matches(&form.csrf) {
        return signed.csrf_refused(&state).await;
    }
    let store = state.store.clone();
    let now = state.clock.now();
    let user = signed.user.clone();
    let run = form.run == "import";
    let bytes = form.bytes;
    let outcome = blocking(move || {
        let importer = Importer::User(&user);
        Ok(if run {
            repayments::import_repayments_csv(store.as_ref(), importer, &bytes, now)
        } else {
            repayments::check_repayments_csv(store.as_ref(), importer, &bytes, now)
                .map(|found| found.len())
        })
    })
    .await;
    let (status, result) = match outcome {
        Ok(Ok(count)) if run => (StatusCode::OK, ImportResult::Imported(count)),
        Ok(Ok(count)) => (StatusCode::OK, ImportResult::Clean(count)),
        Ok(Err(CsvImportError::Problems(problems))) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            ImportResult::Problems {
                listed: problems.listed,
                more: problems.more,
            },
        ),
        Ok(Err(CsvImportError::Store(err))) | Err(err) => return app_failure(lang, &err),
    };
    let page = RepaymentsImportPage {
        chrome: signed.chrome(),
        result: Some(result),
    };
    render(lang, status, &page)
}
