//! The blob store options of the real `doorstep-server` binary:
//! `clean-uploads` on the data directory's blobs (uploads made old by their
//! files' modification times) and on S3, and `serve` on S3.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

use doorstep_core::domain::attachment::sha256_hex;
use doorstep_server::blobs::{BlobStore, FsBlobStore, S3BlobStore, S3Config};
use doorstep_server::store::sqlite::SqliteStore;
use doorstep_server::store::{self, Store};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

fn run(data: &Path, args: &[&str], s3: Option<&S3Config>) -> Output {
    let mut command = Command::new(BIN);
    command.arg("--data").arg(data).args(args);
    if let Some(config) = s3 {
        let (id, secret) = config.credentials.clone().unwrap();
        command
            .env("AWS_ACCESS_KEY_ID", id)
            .env("AWS_SECRET_ACCESS_KEY", secret);
    }
    command.output().unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// Makes the chunk files of an upload look last written `age` ago.
fn backdate(upload: &Path, age: Duration) {
    for entry in std::fs::read_dir(upload).unwrap() {
        std::fs::File::options()
            .write(true)
            .open(entry.unwrap().path())
            .unwrap()
            .set_modified(SystemTime::now() - age)
            .unwrap();
    }
}

#[test]
fn clean_uploads_removes_the_uploads_untouched_for_longer_than_the_age_and_is_audited() {
    let data = tempfile::tempdir().unwrap();
    let dir = data.path().join("blobs");
    let blobs = FsBlobStore::open(&dir).unwrap();
    let photo: Vec<u8> = (0..5_000u32).map(|i| (i % 251) as u8).collect();
    let sha = sha256_hex(&photo);
    let (gone, back, fresh) = (Uuid::now_v7(), Uuid::now_v7(), Uuid::now_v7());
    blobs.append(&sha, gone, 0, &photo[..2_000], 5_000).unwrap();
    blobs.append(&sha, back, 0, &photo[..1_500], 5_000).unwrap();
    blobs
        .append(&sha, fresh, 0, &photo[..1_000], 5_000)
        .unwrap();
    let upload = |device: Uuid| dir.join("partial").join(&sha).join(device.to_string());
    let hours = |h: u64| Duration::from_secs(h * 3600);
    backdate(&upload(gone), hours(80));
    backdate(&upload(back), hours(30));

    // The default age, 72 hours: only the upload untouched for 80 goes.
    let out = stdout(&run(data.path(), &["clean-uploads"], None));
    assert_eq!(
        out.trim(),
        "1 abandoned uploads removed (2000 bytes), 0 leftover files"
    );
    assert_eq!(blobs.received(&sha, gone).unwrap(), 0);
    assert_eq!(blobs.received(&sha, back).unwrap(), 1_500);
    assert_eq!(blobs.received(&sha, fresh).unwrap(), 1_000);
    // A shorter age takes the one untouched for 30 hours too.
    let out = stdout(&run(
        data.path(),
        &["clean-uploads", "--abandoned-upload-hours", "24"],
        None,
    ));
    assert!(
        out.starts_with("1 abandoned uploads removed (1500 bytes)"),
        "{out}"
    );
    assert_eq!(blobs.received(&sha, fresh).unwrap(), 1_000);
    // An age of zero would take uploads under way: refused.
    let out = run(
        data.path(),
        &["clean-uploads", "--abandoned-upload-hours", "0"],
        None,
    );
    assert!(!out.status.success());
    // Each run is audited, with how many uploads it removed.
    let store = SqliteStore::open_dir(data.path()).unwrap();
    let audit = store::read(&store as &dyn Store, |tx| tx.audit_log()).unwrap();
    let runs: Vec<_> = audit
        .iter()
        .filter(|r| r.action == "clean_uploads")
        .map(|r| (r.target_kind.as_str(), r.target_id.as_str()))
        .collect();
    assert_eq!(runs, [("uploads", "1"), ("uploads", "1")]);
}

#[test]
fn clean_uploads_and_serve_keep_the_bytes_in_s3_when_told_to() {
    let Some(config) = common::s3_config("clean_uploads_and_serve_keep_the_bytes_in_s3") else {
        return;
    };
    let blobs = S3BlobStore::open(&config).unwrap();
    let photo = vec![7u8; 3_000];
    let sha = sha256_hex(&photo);
    let phone = Uuid::now_v7();
    blobs
        .append(&sha, phone, 0, &photo[..1_000], 3_000)
        .unwrap();
    let data = tempfile::tempdir().unwrap();
    let url = format!("s3://{}/{}", config.bucket, config.prefix);
    let endpoint = config.endpoint.clone().unwrap();
    let s3_args = [
        "--blob-s3-url",
        url.as_str(),
        "--blob-s3-endpoint",
        endpoint.as_str(),
        "--blob-s3-region",
        "us-east-1",
    ];

    // The upload was just written: kept, and nothing was put in DATA/blobs.
    let mut args = vec!["clean-uploads", "--abandoned-upload-hours", "1"];
    args.extend(s3_args);
    let out = stdout(&run(data.path(), &args, Some(&config)));
    assert!(out.starts_with("0 abandoned uploads removed"), "{out}");
    assert_eq!(blobs.received(&sha, phone).unwrap(), 1_000);
    assert!(!data.path().join("blobs").exists());

    // A bucket that is not there is named as the problem at start.
    let mut args = vec!["clean-uploads", "--blob-s3-url", "s3://no-such-bucket"];
    args.extend(&s3_args[2..]);
    let out = run(data.path(), &args, Some(&config));
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot open the S3 blob store"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A directory and a bucket at once: refused.
    let mut args = vec!["--blob-dir", "elsewhere", "clean-uploads"];
    args.extend(s3_args);
    assert!(!run(data.path(), &args, Some(&config)).status.success());

    // `serve` on the bucket starts and answers.
    let mut args = vec!["serve", "--listen", "127.0.0.1:0"];
    args.extend(s3_args);
    let (id, secret) = config.credentials.clone().unwrap();
    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data.path())
        .args(&args)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let address = line.trim().strip_prefix("listening on ").map(str::to_owned);
    let health = address.as_ref().map(|address| {
        ureq::get(format!("http://{address}/healthz"))
            .call()
            .unwrap()
            .into_body()
            .read_to_string()
            .unwrap()
    });
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(health.as_deref().map(str::trim), Some("ok"), "{line}");
    assert!(!data.path().join("blobs").exists());
}
