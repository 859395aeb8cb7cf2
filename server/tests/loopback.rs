//! The real `doorstep-server` binary: admin commands on a data directory, then
//! `serve` on a loopback port, driven over HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use common::*;
use serde_json::{Value, json};
use uuid::Uuid;

const BIN: &str = env!("CARGO_BIN_EXE_doorstep-server");

fn admin(data: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{args:?}: {stderr}");
    String::from_utf8(out.stdout).unwrap()
}

/// Kills the server process this test started when the test ends.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn call(
    agent: &ureq::Agent,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> (u16, Value) {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut response = match (method, body) {
        ("GET", _) => {
            let mut request = agent.get(url);
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request.call().unwrap()
        }
        (_, body) => {
            let mut request = agent.post(url).header("Content-Type", "application/json");
            if let Some(auth) = &auth {
                request = request.header("Authorization", auth);
            }
            request
                .send(body.unwrap_or(Value::Null).to_string())
                .unwrap()
        }
    };
    let status = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

#[test]
fn the_binary_serves_a_visit_from_push_to_review_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path();
    let id_of = |out: String| -> Uuid { out.split_whitespace().nth(1).unwrap().parse().unwrap() };
    admin(
        data,
        &[
            "create-user",
            "--username",
            "sup",
            "--password",
            "pw-sup-secret",
            "--role",
            "supervisor",
        ],
    );
    let agent_id = id_of(admin(
        data,
        &[
            "create-user",
            "--username",
            "ana",
            "--password",
            "pw-ana-secret",
            "--role",
            "agent",
            "--supervisor",
            "sup",
        ],
    ));
    let (phone, sup_phone) = (Uuid::now_v7(), Uuid::now_v7());
    admin(
        data,
        &[
            "create-device",
            "--username",
            "ana",
            "--device-id",
            &phone.to_string(),
        ],
    );
    admin(
        data,
        &[
            "create-device",
            "--username",
            "sup",
            "--device-id",
            &sup_phone.to_string(),
        ],
    );
    let case = sample_case(agent_id, None);
    let cases_file = data.join("cases.json");
    std::fs::write(&cases_file, serde_json::to_string(&[&case]).unwrap()).unwrap();
    let out = admin(
        data,
        &["import-cases", "--file", cases_file.to_str().unwrap()],
    );
    assert_eq!(out.trim(), format!("case {}", case.id));
    assert!(!out.contains("王小明"));
    let template_file = data.join("template.json");
    std::fs::write(
        &template_file,
        doorstep_core::checklist::home_verification().to_json(),
    )
    .unwrap();
    admin(
        data,
        &[
            "publish-template",
            "--file",
            template_file.to_str().unwrap(),
        ],
    );

    let mut child = Command::new(BIN)
        .arg("--data")
        .arg(data)
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let _server = Server(child);
    let addr = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap()
        .to_owned();
    assert!(addr.starts_with("127.0.0.1:"));
    // `serve --data DIR` keeps attachment bytes in DIR/blobs.
    assert!(data.join("blobs").join("partial").is_dir());
    assert!(data.join("blobs").join("tmp").is_dir());
    let base = format!("http://{addr}");
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();

    let (status, health) = call(&agent, "GET", &format!("{base}/healthz"), None, None);
    assert_eq!((status, health), (200, Value::String("ok\n".into())));
    let login = |user: &str, device: Uuid| {
        let body =
            json!({"username": user, "password": format!("pw-{user}-secret"), "device_id": device});
        let (status, value) = call(
            &agent,
            "POST",
            &format!("{base}/v1/login"),
            None,
            Some(body),
        );
        assert_eq!(status, 200, "{value}");
        value["token"].as_str().unwrap().to_owned()
    };
    let token = login("ana", phone);
    let mut device = Phone::new(phone, Uuid::now_v7());
    let ops: Vec<_> = full_visit(&case).iter().map(|c| device.act(c)).collect();
    let (status, pushed) = call(
        &agent,
        "POST",
        &format!("{base}/v1/push"),
        Some(&token),
        Some(serde_json::to_value(PushRequest::new(&ops)).unwrap()),
    );
    assert_eq!(status, 200, "{pushed}");
    assert_eq!(outcomes_of(&ops, &pushed), ["applied"; 7]);

    let sup = login("sup", sup_phone);
    let review_url = format!("{base}/v1/visits/{}/review", device.visit);
    let (status, _) = call(
        &agent,
        "POST",
        &review_url,
        Some(&sup),
        Some(json!({"decision": {"decision": "approve"}})),
    );
    assert_eq!(status, 200);
    let (status, pulled) = call(
        &agent,
        "GET",
        &format!("{base}/v1/pull?cursor=0&limit=100"),
        Some(&token),
        None,
    );
    assert_eq!(status, 200);
    let kinds: Vec<&str> = pulled["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["case", "template", "visit_entry"]);
    let (status, bad) = call(
        &agent,
        "POST",
        &format!("{base}/v1/push"),
        Some(&token),
        Some(json!({"chains": "x"})),
    );
    assert_eq!((status, bad["code"].as_str()), (422, Some("invalid_body")));
    let (_, metrics) = call(&agent, "GET", &format!("{base}/metrics"), None, None);
    assert!(
        metrics
            .as_str()
            .unwrap()
            .contains("doorstep_push_ops_total{outcome=\"applied\"} 7")
    );
}
