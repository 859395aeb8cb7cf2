#![allow(clippy::unwrap_used)]

use super::*;

fn query(pairs: &[(&str, &str)]) -> VisitQuery {
    let mut query = VisitQuery::default();
    for (name, value) in pairs {
        let field = match *name {
            "state" => &mut query.state,
            "bucket" => &mut query.bucket,
            "min_amount" => &mut query.min_amount,
            "sort" => &mut query.sort,
            "page" => &mut query.page,
            "flag" => &mut query.flag,
            "outcome" => &mut query.outcome,
            other => panic!("no field {other}"),
        };
        *field = (*value).to_owned();
    }
    query
}

#[test]
fn the_bands_are_the_banks_m1_m2_and_everything_past_sixty_days() {
    let band_of = |days| {
        OverdueBand::ALL
            .into_iter()
            .filter(|b| b.holds(OverdueBucket::from_days_past_due(days)))
            .collect::<Vec<_>>()
    };
    assert_eq!(band_of(0), []);
    assert_eq!(band_of(1), [OverdueBand::M1]);
    assert_eq!(band_of(30), [OverdueBand::M1]);
    assert_eq!(band_of(31), [OverdueBand::M2]);
    assert_eq!(band_of(60), [OverdueBand::M2]);
    assert_eq!(band_of(61), [OverdueBand::M3Plus]);
    assert_eq!(band_of(400), [OverdueBand::M3Plus]);
    for band in OverdueBand::ALL {
        assert_eq!(OverdueBand::from_code(band.code()), Some(band));
    }
}

#[test]
fn amounts_are_whole_units_with_separators_and_nothing_else() {
    let search = |min: &str| query(&[("min_amount", min)]).search("").min_amount;
    assert_eq!(search("12500"), Some(1_250_000));
    assert_eq!(search(" 12,500 "), Some(1_250_000));
    assert_eq!(search("0"), Some(0));
    for junk in ["", "-1", "12.5", "1e9", "９９", "99999999999999999999"] {
        assert_eq!(search(junk), None, "{junk:?}");
    }
}

#[test]
fn every_code_round_trips_and_unknown_ones_turn_the_filter_off() {
    for column in SortColumn::ALL {
        let parsed = query(&[("sort", column.code())]).search("");
        assert_eq!(parsed.sort, Some(column));
    }
    let parsed = query(&[
        ("state", "flying"),
        ("bucket", "M3"),
        ("sort", "<b>"),
        ("page", "-2"),
        ("flag", "nope"),
        ("outcome", "maybe"),
    ])
    .search("");
    assert_eq!(
        parsed,
        VisitSearch {
            page: 1,
            ..VisitSearch::default()
        }
    );
}

#[test]
fn typed_text_is_trimmed_and_made_visible() {
    let parsed = query(&[]).search("  王\u{202e}小明\n ");
    assert!(!parsed.text.contains('\u{202e}') && !parsed.text.contains('\n'));
    assert!(parsed.text.starts_with('王') && parsed.text.ends_with('明'));
}

#[test]
fn pages_cover_the_list_once_and_a_page_past_the_end_is_the_last() {
    let items: Vec<usize> = (0..(2 * PAGE_SIZE + 7)).collect();
    let mut seen = Vec::new();
    for page in 1..=3 {
        let search = VisitSearch {
            page,
            ..VisitSearch::default()
        };
        let (shown, at, pages) = search.page_of(&items);
        assert_eq!((at, pages), (page, 3));
        seen.extend_from_slice(shown);
    }
    assert_eq!(seen, items);
    let far = VisitSearch {
        page: 1_000,
        ..VisitSearch::default()
    };
    assert_eq!(far.page_of(&items).1, 3);
    let empty: [usize; 0] = [];
    assert_eq!(far.page_of(&empty), (&empty[..], 1, 1));
}
