//! The real `doorstep-server` binary as a test starts it: on a data
//! directory or on a fresh PostgreSQL schema, on a loopback port, driven
//! over HTTP with a blocking client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStderr, Command, Stdio};

use serde_json::{Value, json};
use uuid::Uuid;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

/// A server process and its address; killed when dropped.
pub struct Server {
    pub child: Child,
    pub base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `doorstep-server <args> serve --listen 127.0.0.1:0` and waits
    /// for its "listening on" line.
    pub fn start(args: &[String]) -> Server {
        let mut child = Command::new(BIN)
            .args(args)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).unwrap();
        let base = format!(
            "http://{}",
            line.trim()
                .strip_prefix("listening on ")
                .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        );
        Server { child, base }
    }

    /// The process's standard error, to read once it has exited.
    pub fn stderr(&mut self) -> ChildStderr {
        self.child.stderr.take().unwrap()
    }
}

/// A fresh schema in the test database and the URL of a connection that
/// uses it (the schema travels in the URL's `options`).
pub fn postgres_schema(url: &str) -> String {
    let schema = format!("t_{}", Uuid::now_v7().simple());
    let mut client = postgres::Client::connect(url, postgres::NoTls).unwrap();
    client
        .batch_execute(&format!("CREATE SCHEMA {schema}"))
        .unwrap();
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}options=-c%20search_path%3D{schema}")
}

/// A blocking HTTP client that hands back every status.
pub fn client() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

/// The token of a sign-in as `username` (password `pw-<name>-secret`) from
/// `device`.
pub fn sign_in(http: &ureq::Agent, base: &str, username: &str, device: Uuid) -> String {
    let login = json!({
        "username": username,
        "password": format!("pw-{username}-secret"),
        "device_id": device,
    });
    let mut response = http
        .post(format!("{base}/v1/login"))
        .header("Content-Type", "application/json")
        .send(login.to_string())
        .unwrap();
    let answer: Value = response.body_mut().read_json().unwrap();
    answer["token"]
        .as_str()
        .unwrap_or_else(|| panic!("sign-in refused: {answer}"))
        .to_owned()
}
