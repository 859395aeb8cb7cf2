//! The demo's people and cases: a supervisor, an admin, field agents on the
//! supervisor's team, the default checklist template, and overdue credit-card
//! cases in Beijing with Chinese names and addresses (amounts in fen).

use chrono::{DateTime, Duration, Utc};
use doorstep_core::checklist::home_verification;
use doorstep_core::domain::case::mask_national_id;
use doorstep_core::domain::{
    Address, AddressKind, AssignedAgents, Case, CaseStatus, Customer, PhoneNumber, UserId,
};
use doorstep_core::money::Money;
use doorstep_core::policy::GeoPoint;
use doorstep_core::sync::protocol::Role;
use uuid::Uuid;

use crate::admin;
use crate::error::ServiceError;
use crate::store::Store;

/// The password of every demo account (printed by the demo).
pub const PASSWORD: &str = "doorstep-demo";
/// The supervisor's user name.
pub const SUPERVISOR: &str = "lin.supervisor";
/// The admin's user name.
pub const ADMIN: &str = "admin";
/// Cases per agent.
pub const CASES_PER_AGENT: usize = 4;

const AGENT_NAMES: &[&str] = &[
    "agent.wang",
    "agent.li",
    "agent.zhang",
    "agent.liu",
    "agent.chen",
    "agent.yang",
    "agent.zhao",
    "agent.huang",
];

const CUSTOMERS: &[&str] = &[
    "王建国",
    "李秀英",
    "张伟",
    "刘洋",
    "陈静",
    "杨磊",
    "赵敏",
    "黄志强",
    "周丽娟",
    "吴刚",
    "徐芳",
    "孙浩",
    "马丽",
    "朱军",
    "胡桂英",
    "郭强",
];

/// Street, district, and a position near it.
const STREETS: &[(&str, f64, f64)] = &[
    ("北京市朝阳区建国路 88 号 3 单元 502", 39.9087, 116.4605),
    (
        "北京市海淀区中关村大街 27 号院 6 号楼 1201",
        39.9834,
        116.3162,
    ),
    (
        "北京市东城区东直门南大街 5 号 2 单元 301",
        39.9402,
        116.4341,
    ),
    (
        "北京市西城区西直门外大街 18 号 4 号楼 808",
        39.9405,
        116.3475,
    ),
    ("北京市丰台区丰台北路 32 号院 2 号楼 605", 39.8637, 116.2869),
    ("北京市朝阳区望京西路 48 号 11 单元 1702", 39.9965, 116.4706),
    ("北京市通州区新华大街 115 号 7 单元 401", 39.9065, 116.6566),
    (
        "北京市昌平区回龙观西大街 9 号 5 单元 1103",
        40.0707,
        116.3247,
    ),
];

const PRODUCTS: &[&str] = &["白金信用卡", "标准信用卡", "联名信用卡"];

/// A user name of the demo: `agent.wang`, `agent.li`, … then `agent9`, ….
pub fn agent_name(index: usize) -> String {
    AGENT_NAMES
        .get(index)
        .map_or_else(|| format!("agent{}", index + 1), |n| (*n).to_owned())
}

/// The seeded world.
pub struct Seeded {
    /// Each agent's user name and id, in order.
    pub agents: Vec<(String, UserId)>,
    /// The supervisor's registered device (for the API's review endpoint).
    pub supervisor_device: Uuid,
    /// Every case, with its agent's index.
    pub cases: Vec<(usize, Case)>,
}

/// Seeds an empty store: users, the supervisor's device, the template, and
/// [`CASES_PER_AGENT`] cases per agent, due in the days after `day_start`.
pub fn seed(
    store: &dyn Store,
    agents: usize,
    day_start: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Seeded, ServiceError> {
    admin::create_user(store, ADMIN, PASSWORD, Role::Admin, None, now)?;
    admin::create_user(store, SUPERVISOR, PASSWORD, Role::Supervisor, None, now)?;
    let supervisor_device = Uuid::now_v7();
    admin::create_device(store, SUPERVISOR, supervisor_device, now)?;
    admin::publish_template(store, &home_verification(), now)?;
    let mut seeded = Seeded {
        agents: Vec::new(),
        supervisor_device,
        cases: Vec::new(),
    };
    for index in 0..agents {
        let name = agent_name(index);
        let id = admin::create_user(store, &name, PASSWORD, Role::Agent, Some(SUPERVISOR), now)?;
        seeded.agents.push((name, id));
        for slot in 0..CASES_PER_AGENT {
            let n = index * CASES_PER_AGENT + slot;
            seeded.cases.push((index, case(n, id, day_start)));
        }
    }
    let cases: Vec<Case> = seeded.cases.iter().map(|(_, c)| c.clone()).collect();
    admin::import_cases(store, &cases, now)?;
    Ok(seeded)
}

/// The `n`-th demo case, assigned to `agent`.
fn case(n: usize, agent: UserId, day_start: DateTime<Utc>) -> Case {
    let (street, latitude, longitude) = STREETS[n % STREETS.len()];
    let block = n / STREETS.len();
    let digits = 1000 + n * 37 % 9000;
    let amount = 380_000 + (n as i64 * 731_900) % 4_500_000;
    let days = 31 + (n as u32 * 13) % 120;
    Case {
        revisit_after: None,
        id: Uuid::now_v7(),
        external_ref: format!("CC-2026-{:06}", 4711 + n * 17),
        customer: Customer {
            name: CUSTOMERS[n % CUSTOMERS.len()].to_owned(),
            national_id_masked: mask_national_id(&format!("1101051980010{digits:04}X")),
            phones: vec![PhoneNumber {
                label: "mobile".into(),
                number: format!("+86 138 0000 {digits:04}"),
            }],
            addresses: vec![Address {
                kind: AddressKind::Home,
                text: if block == 0 {
                    street.to_owned()
                } else {
                    format!("{street}（{block} 号楼）")
                },
                location: Some(GeoPoint {
                    latitude: latitude + block as f64 * 0.002,
                    longitude,
                }),
            }],
        },
        product: PRODUCTS[n % PRODUCTS.len()].to_owned(),
        overdue_amount: Money {
            minor_units: amount,
            currency: "CNY".into(),
        },
        days_past_due: days,
        assigned: AssignedAgents {
            primary: agent,
            partner: None,
        },
        priority: 1 + (n % 5) as u8,
        due_date: (day_start + Duration::days(3 + (n % 10) as i64)).date_naive(),
        status: CaseStatus::New,
        utc_offset_minutes: 480,
    }
}
