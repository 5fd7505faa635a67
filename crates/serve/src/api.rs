//! The service's request bodies: parsed and checked here, before any work, so a bad request
//! gets a 4xx that names the field, and no input reaches a panic. Fuzzed by `tests/fuzz`.

use ringscope_ingest::parse;
use ringscope_pipeline::online::{Order, Review, ScoreAccount, Session};
use serde::Deserialize;

/// A request the service refuses, with its HTTP status.
#[derive(Debug, PartialEq)]
pub struct Rejection {
    /// 400, 401, 404, 413 or 422.
    pub status: u16,
    /// What is wrong, naming the field.
    pub message: String,
}

impl Rejection {
    pub fn bad(message: impl Into<String>) -> Self {
        Rejection {
            status: 400,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        Rejection {
            status: 404,
            message: message.into(),
        }
    }
}

/// `POST /v1/score`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScoreBody {
    accounts: Vec<AccountBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AccountBody {
    account_id: String,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    events: EventsBody,
}

/// New events in the input contract's columns (docs/data-contract.md), as strings or numbers.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventsBody {
    #[serde(default)]
    reviews: Vec<ReviewBody>,
    #[serde(default)]
    orders: Vec<OrderBody>,
    #[serde(default)]
    sessions: Vec<SessionBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReviewBody {
    #[serde(default)]
    review_id: Option<String>,
    product_id: String,
    #[serde(default)]
    rating: Option<serde_json::Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    seller_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct OrderBody {
    #[serde(default)]
    order_id: Option<String>,
    seller_id: String,
    #[serde(default)]
    product_id: Option<String>,
    #[serde(default)]
    amount: Option<serde_json::Value>,
    #[serde(default)]
    created_at: Option<String>,
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    payment_id: Option<String>,
    #[serde(default)]
    address_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SessionBody {
    #[serde(default)]
    device_id: Option<String>,
    #[serde(default)]
    ip: Option<String>,
    #[serde(default)]
    created_at: Option<String>,
}

fn json_error(e: &serde_json::Error) -> Rejection {
    Rejection::bad(format!("malformed JSON body: {e}"))
}

/// A number or a numeric string, as the CSV contract allows either.
fn number(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::Number(n) => Some(n.to_string()),
        serde_json::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

fn id(field: &str, value: &str) -> Result<String, Rejection> {
    let v = value.trim();
    if v.is_empty() || v.len() > 256 {
        return Err(Rejection::bad(format!(
            "{field}: must be 1 to 256 characters"
        )));
    }
    Ok(v.to_string())
}

fn opt_id(field: &str, value: &Option<String>) -> Result<Option<String>, Rejection> {
    value.as_deref().map(|v| id(field, v)).transpose()
}

fn time(field: &str, value: &Option<String>) -> Result<Option<i64>, Rejection> {
    value
        .as_deref()
        .map(|v| {
            parse::timestamp(v)
                .and_then(parse::check_time_range)
                .map_err(|e| Rejection::bad(format!("{field}: {e}")))
        })
        .transpose()
}

/// Parses a `POST /v1/score` body of at most `max_batch` accounts.
pub fn score_request(body: &[u8], max_batch: usize) -> Result<Vec<ScoreAccount>, Rejection> {
    let body: ScoreBody = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if body.accounts.is_empty() {
        return Err(Rejection::bad("accounts: at least one account is needed"));
    }
    if body.accounts.len() > max_batch {
        return Err(Rejection {
            status: 413,
            message: format!(
                "accounts: a batch of {} exceeds the limit of {max_batch}",
                body.accounts.len()
            ),
        });
    }
    body.accounts
        .into_iter()
        .enumerate()
        .map(|(i, a)| {
            let at = |f: &str| format!("accounts[{i}].{f}");
            let reviews = a
                .events
                .reviews
                .iter()
                .enumerate()
                .map(|(j, r)| {
                    let at = |f: &str| at(&format!("events.reviews[{j}].{f}"));
                    opt_id(&at("review_id"), &r.review_id)?;
                    let rating = match &r.rating {
                        None | Some(serde_json::Value::Null) => None,
                        Some(v) => {
                            let text = number(v).ok_or_else(|| {
                                Rejection::bad(format!("{}: not a number", at("rating")))
                            })?;
                            Some(f32::from(parse::rating(&text).map_err(|e| {
                                Rejection::bad(format!("{}: {e}", at("rating")))
                            })?))
                        }
                    };
                    Ok(Review {
                        product_id: id(&at("product_id"), &r.product_id)?,
                        rating,
                        time: time(&at("created_at"), &r.created_at)?,
                        seller_id: opt_id(&at("seller_id"), &r.seller_id)?,
                    })
                })
                .collect::<Result<_, Rejection>>()?;
            let orders =
                a.events
                    .orders
                    .iter()
                    .enumerate()
                    .map(|(j, o)| {
                        let at = |f: &str| at(&format!("events.orders[{j}].{f}"));
                        opt_id(&at("order_id"), &o.order_id)?;
                        let amount = match &o.amount {
                            None | Some(serde_json::Value::Null) => None,
                            Some(v) => {
                                let text = number(v).ok_or_else(|| {
                                    Rejection::bad(format!("{}: not a number", at("amount")))
                                })?;
                                Some(parse::non_negative(&text).map_err(|e| {
                                    Rejection::bad(format!("{}: {e}", at("amount")))
                                })?)
                            }
                        };
                        Ok(Order {
                            seller_id: id(&at("seller_id"), &o.seller_id)?,
                            product_id: opt_id(&at("product_id"), &o.product_id)?,
                            amount,
                            time: time(&at("created_at"), &o.created_at)?,
                            device_id: opt_id(&at("device_id"), &o.device_id)?,
                            ip: opt_id(&at("ip"), &o.ip)?,
                            payment_id: opt_id(&at("payment_id"), &o.payment_id)?,
                            address_id: opt_id(&at("address_id"), &o.address_id)?,
                        })
                    })
                    .collect::<Result<_, Rejection>>()?;
            let sessions = a
                .events
                .sessions
                .iter()
                .enumerate()
                .map(|(j, s)| {
                    let at = |f: &str| at(&format!("events.sessions[{j}].{f}"));
                    Ok(Session {
                        device_id: opt_id(&at("device_id"), &s.device_id)?,
                        ip: opt_id(&at("ip"), &s.ip)?,
                        time: time(&at("created_at"), &s.created_at)?,
                    })
                })
                .collect::<Result<_, Rejection>>()?;
            Ok(ScoreAccount {
                account_id: id(&at("account_id"), &a.account_id)?,
                created_at: time(&at("created_at"), &a.created_at)?,
                reviews,
                orders,
                sessions,
            })
        })
        .collect()
}

/// `POST /v1/feedback`.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Feedback {
    /// `ring` or `account`.
    pub target: String,
    /// Its ID.
    pub id: String,
    /// `confirm` or `dismiss`.
    pub verdict: String,
    /// Who decided.
    #[serde(default)]
    pub analyst: Option<String>,
    /// Why.
    #[serde(default)]
    pub note: Option<String>,
}

/// Parses a `POST /v1/feedback` body.
pub fn feedback_request(body: &[u8]) -> Result<Feedback, Rejection> {
    let f: Feedback = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    if !matches!(f.target.as_str(), "ring" | "account") {
        return Err(Rejection::bad("target: must be \"ring\" or \"account\""));
    }
    if !matches!(f.verdict.as_str(), "confirm" | "dismiss") {
        return Err(Rejection::bad(
            "verdict: must be \"confirm\" or \"dismiss\"",
        ));
    }
    id("id", &f.id)?;
    if f.note.as_ref().is_some_and(|n| n.len() > 4096) {
        return Err(Rejection::bad("note: at most 4096 characters"));
    }
    opt_id("analyst", &f.analyst)?;
    Ok(f)
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = r#"{"accounts":[{"account_id":"a1","created_at":"2026-11-01T08:00:00Z","events":{
        "reviews":[{"product_id":"p1","rating":5,"created_at":"2026-11-01T09:00:00Z"}],
        "orders":[{"seller_id":"s1","product_id":"p1","amount":"12.5","device_id":"d1"}],
        "sessions":[{"device_id":"d1","ip":"10.0.0.1"}]}}]}"#;

    #[test]
    fn a_valid_request_parses_into_checked_values() {
        let accounts = score_request(VALID.as_bytes(), 10).unwrap();
        assert_eq!(accounts.len(), 1);
        let a = &accounts[0];
        assert_eq!(a.account_id, "a1");
        assert_eq!(a.created_at, Some(1_793_520_000));
        assert_eq!(a.reviews[0].rating, Some(5.0));
        assert_eq!(a.orders[0].amount, Some(12.5));
        assert_eq!(a.sessions[0].ip.as_deref(), Some("10.0.0.1"));
    }

    #[test]
    fn bad_requests_name_the_field() {
        let cases = [
            ("{", 400, "malformed JSON"),
            (r#"{"accounts":[]}"#, 400, "at least one"),
            (
                r#"{"accounts":[{"account_id":""}]}"#,
                400,
                "accounts[0].account_id",
            ),
            (
                r#"{"accounts":[{"account_id":"a","extra":1}]}"#,
                400,
                "unknown field",
            ),
            (
                r#"{"accounts":[{"account_id":"a","events":{"reviews":[{"product_id":"p","rating":9}]}}]}"#,
                400,
                "accounts[0].events.reviews[0].rating",
            ),
            (
                r#"{"accounts":[{"account_id":"a","events":{"orders":[{"seller_id":"s","created_at":"soon"}]}}]}"#,
                400,
                "accounts[0].events.orders[0].created_at",
            ),
            (
                r#"{"accounts":[{"account_id":"a"},{"account_id":"b"},{"account_id":"c"}]}"#,
                413,
                "limit of 2",
            ),
        ];
        for (body, status, needle) in cases {
            let err = score_request(body.as_bytes(), 2).unwrap_err();
            assert_eq!(err.status, status, "{body}: {err:?}");
            assert!(err.message.contains(needle), "{body}: {}", err.message);
        }
        let err = feedback_request(br#"{"target":"ring","id":"r","verdict":"maybe"}"#).unwrap_err();
        assert!(err.message.contains("verdict"));
    }
}
