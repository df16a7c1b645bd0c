//! Every problem `code` microshop can answer with, and what it means to a client.
//!
//! A problem's `type` is `/problems/{code}` (RFC 9457 §3.1.1: a URI that, dereferenced, should
//! give human-readable documentation of the problem type), so each code needs a page, and the
//! pages need one source: this list. Codes are shared vocabulary, not one service's business:
//! `insufficient_stock` comes from products and from orders, `service_unavailable` from the
//! gateway and from orders, `database_unavailable` from every service with a database. So the
//! list lives here, next to [`Problem`](super::Problem), and every service serves all of it
//! (see [`super::pages`]) whichever of them answered.
//!
//! Two checks keep it true. A debug assertion in [`Problem::new`](super::Problem::new) refuses a
//! code that is not listed, so a test that provokes a new code fails at once; and a test of this
//! module reads every crate's sources for the codes passed to the problem constructors, and
//! fails on one that is missing here, one listed here that nothing answers with, and a status
//! an entry does not name.

/// One problem type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// The stable, snake_case `code` clients branch on (and the last segment of `type`).
    pub code: &'static str,
    /// The HTTP statuses it is answered with, most common first.
    pub statuses: &'static [u16],
    /// A short human title of the problem type.
    pub title: &'static str,
    /// What happened, in a client's terms.
    pub meaning: &'static str,
    /// What a client should do about it.
    pub action: &'static str,
}

/// Every code, sorted by code (a test checks it, so [`lookup`] can search).
pub static CATALOGUE: &[Entry] = &[
    Entry {
        code: "auth_unavailable",
        statuses: &[503],
        title: "Tokens cannot be checked",
        meaning: "The service needs the auth service's public keys to verify your access token and \
                  cannot fetch them right now. Your token is not at fault.",
        action: "Retry after the number of seconds in Retry-After, with the same token. Do not \
                 sign in again for this.",
    },
    Entry {
        code: "bad_gateway",
        statuses: &[502],
        title: "Bad gateway",
        meaning: "The gateway forwarded your request, but the service's connection broke or its \
                  answer was not valid HTTP; the service is named in `service`. The request may \
                  or may not have taken effect.",
        action: "Repeat a read, or a request with an Idempotency-Key, as it is. Before repeating \
                 anything else, read the resource to see whether the first attempt took effect.",
    },
    Entry {
        code: "bad_request",
        statuses: &[400],
        title: "Bad request",
        meaning: "The request could not be understood as sent: for example a path segment that is \
                  not valid UTF-8, or that should be a number and is not. `detail` says what.",
        action: "Fix the request; sending it again unchanged gives the same answer.",
    },
    Entry {
        code: "counter_unavailable",
        statuses: &[503],
        title: "Hit counter unavailable",
        meaning: "The hit counter's store (Redis, or the database) cannot be reached right now; \
                  this hit was not counted.",
        action: "Retry after the number of seconds in Retry-After.",
    },
    Entry {
        code: "database_unavailable",
        statuses: &[503],
        title: "Database unavailable",
        meaning: "The service cannot reach its database right now (it is starting, restarting or \
                  cut off). Nothing was changed by this request.",
        action: "Retry after the number of seconds in Retry-After; the service recovers by itself \
                 when its database answers again.",
    },
    Entry {
        code: "forbidden",
        statuses: &[403],
        title: "Forbidden",
        meaning: "You are signed in, but this action is not yours to take: it needs the admin role \
                  or the resource's organizer, or it is an operators' endpoint such as /metrics.",
        action: "Do not retry. Use an account that holds the right; operators' endpoints answer \
                 callers from the operators' networks, other services and admins.",
    },
    Entry {
        code: "gateway_timeout",
        statuses: &[504],
        title: "Gateway timeout",
        meaning: "The service named in `service` did not start answering within the gateway's \
                  upstream timeout. The outcome is unknown: the request may have been carried \
                  out.",
        action: "Read the resource to see whether it took effect before repeating the request, or \
                 repeat it with the same Idempotency-Key, which never acts twice.",
    },
    Entry {
        code: "idempotency_key_required",
        statuses: &[400],
        title: "Idempotency-Key required",
        meaning: "A charge must carry an Idempotency-Key header, so that a retried charge never \
                  charges twice.",
        action: "Send an Idempotency-Key: one value per intended charge, the same value on every \
                 retry of it.",
    },
    Entry {
        code: "idempotency_key_reused",
        statuses: &[422],
        title: "Idempotency-Key reused",
        meaning: "This Idempotency-Key was already used for a request with a different body. A key \
                  stands for one request; its first answer is kept for it.",
        action: "Use a new key for a new request. To get the first request's answer, repeat it \
                 exactly, with its key.",
    },
    Entry {
        code: "illegal_transition",
        statuses: &[409],
        title: "Illegal status change",
        meaning: "An order cannot move from its current status to the one asked for (for example \
                  from cancelled back to paid). `order_status` is its current status.",
        action: "Read the order and choose a change its current status allows.",
    },
    Entry {
        code: "incomplete_body",
        statuses: &[400],
        title: "Incomplete request body",
        meaning: "The request body broke off before its end while the gateway was forwarding it: \
                  the connection closed early, or Content-Length promised more than was sent.",
        action: "Send the whole request again.",
    },
    Entry {
        code: "insufficient_stock",
        statuses: &[409],
        title: "Not enough stock",
        meaning: "A line asks for more of a product than is in stock. Stock is reserved all or \
                  nothing, so nothing was reserved and nothing was ordered; `errors` names the \
                  line and `product_id` the product.",
        action: "Lower the quantity of that line, or remove it, and send the order again.",
    },
    Entry {
        code: "internal_error",
        statuses: &[500],
        title: "Internal server error",
        meaning: "Something unexpected went wrong in the service. The cause was logged with the \
                  request's id; nothing about it is sent to clients.",
        action: "Retrying may work if the fault was passing. If it persists, report the value of \
                 the response's X-Request-Id header to the operators.",
    },
    Entry {
        code: "invalid_credentials",
        statuses: &[401],
        title: "Wrong username or password",
        meaning: "No account matches this username and password. An unknown or deleted account \
                  gets the same answer, so accounts cannot be probed.",
        action: "Check the username and password and try again. Repeated failures lock signing \
                 in for a while (too_many_attempts).",
    },
    Entry {
        code: "invalid_idempotency_key",
        statuses: &[400],
        title: "Invalid Idempotency-Key",
        meaning: "The Idempotency-Key header is empty, too long, or holds characters other than \
                  visible ASCII. `detail` says which.",
        action: "Send a key of visible ASCII characters within the length `detail` gives; a UUID \
                 fits.",
    },
    Entry {
        code: "invalid_query",
        statuses: &[400],
        title: "Invalid query parameters",
        meaning: "A query parameter of a list (products, events, notifications) cannot be read: \
                  an unknown parameter, or a value of the wrong kind. `detail` names it.",
        action: "Fix or remove the parameter named in `detail`.",
    },
    Entry {
        code: "invalid_refresh_token",
        statuses: &[401],
        title: "Refresh token refused",
        meaning: "The refresh token is unknown, expired, revoked (signed out, or the account was \
                  deleted) or was already used. Using a token twice revokes its whole session, in \
                  case it was stolen.",
        action: "Sign in again with username and password (POST /auth/login) to start a new \
                 session. Always keep the newest refresh token: each refresh replaces it.",
    },
    Entry {
        code: "invalid_token",
        statuses: &[401],
        title: "Access token refused",
        meaning: "The access token cannot be accepted: it is malformed, expired, signed by an \
                  unknown key or another algorithm, issued by someone else or for another \
                  audience, a refresh token sent as an access token, or its account no longer \
                  exists. WWW-Authenticate says so too.",
        action: "Get a new access token: refresh it (POST /auth/refresh with your refresh token), \
                 or sign in again.",
    },
    Entry {
        code: "malformed_json",
        statuses: &[400],
        title: "Malformed JSON",
        meaning: "The request body is not valid JSON: a syntax error, a truncated document, or \
                  characters after its end. `detail` says where.",
        action: "Fix the JSON and send it again.",
    },
    Entry {
        code: "malformed_query",
        statuses: &[400],
        title: "Malformed query string",
        meaning: "The query string cannot be read: for example `limit` or `offset` is not a \
                  number. `detail` says what.",
        action: "Fix the query parameters named in `detail`.",
    },
    Entry {
        code: "method_not_allowed",
        statuses: &[405],
        title: "Method not allowed",
        meaning: "This URL exists, but not with this HTTP method.",
        action: "Use one of the methods the Allow header lists.",
    },
    Entry {
        code: "missing_token",
        statuses: &[401],
        title: "Access token required",
        meaning: "This route needs an access token and the request carried none.",
        action: "Sign in (POST /auth/login) and send the access token as \
                 `Authorization: Bearer <token>`.",
    },
    Entry {
        code: "not_awaiting_payment",
        statuses: &[409],
        title: "Order not awaiting payment",
        meaning: "Only an order awaiting payment can be paid, and this one is not: it was paid, \
                  refused, cancelled or has expired. `order_status` says which.",
        action: "Read the order (GET /orders/{id}). If it was refused, cancelled or expired, place \
                 a new order.",
    },
    Entry {
        code: "not_found",
        statuses: &[404],
        title: "Not found",
        meaning: "Nothing you can see is at this URL: the id does not exist, or it belongs to \
                  someone else (that also answers 404, so ids cannot be probed), or the route \
                  does not exist. At the gateway, also a service with no instance configured.",
        action: "Check the URL and the id. Sending the request again gives the same answer.",
    },
    Entry {
        code: "not_refundable",
        statuses: &[409],
        title: "Payment not refundable",
        meaning: "Only an approved payment can be refunded; this one was declined or already \
                  refunded. `detail` gives its status.",
        action: "Read the payment's status; there is nothing to refund.",
    },
    Entry {
        code: "notification_not_found",
        statuses: &[404],
        title: "Notification not found",
        meaning: "No notification with this id is in your inbox.",
        action: "List your notifications (GET /notifications) for the ids you have.",
    },
    Entry {
        code: "payload_too_large",
        statuses: &[413],
        title: "Payload too large",
        meaning: "The request body is over the limit of every service: 1 MiB (1 048 576 bytes).",
        action: "Send a smaller body.",
    },
    Entry {
        code: "payment_declined",
        statuses: &[402],
        title: "Payment declined",
        meaning: "The bank declined the charge. The order (in `order`) is not paid and its stock \
                  was released.",
        action: "Place a new order to try again.",
    },
    Entry {
        code: "payment_unavailable",
        statuses: &[503],
        title: "Payment unavailable",
        meaning: "The bank cannot be reached right now. The order was stored, its stock is held, \
                  and it awaits payment (`order_id`, `order`); it is cancelled if not paid in time.",
        action: "Do not order again: after Retry-After, pay this order with \
                 POST /orders/{order_id}/payment.",
    },
    Entry {
        code: "payments_unavailable",
        statuses: &[503],
        title: "Payment provider unavailable",
        meaning: "The payment service's bank is in an outage and takes no charges or refunds.",
        action: "Retry after the number of seconds in Retry-After.",
    },
    Entry {
        code: "profile_deleted",
        statuses: &[404, 409],
        title: "Profile deleted",
        meaning: "This profile was deleted, and a deletion is final: the profile cannot be read \
                  (404) nor created again with its id (409).",
        action: "Do not retry. A new account gets a new profile.",
    },
    Entry {
        code: "profile_exists",
        statuses: &[409],
        title: "Profile exists",
        meaning: "A profile with this id already exists.",
        action: "Change it with PATCH or PUT /users/{id} instead of creating it.",
    },
    Entry {
        code: "rate_limited",
        statuses: &[429],
        title: "Too many requests",
        meaning: "The gateway refused the request: too many requests from this address or this \
                  account (`scope` is `ip` or `user`) in a short time.",
        action: "Wait the number of seconds in Retry-After, then send requests more slowly.",
    },
    Entry {
        code: "request_in_progress",
        statuses: &[409],
        title: "Request in progress",
        meaning: "A request with this Idempotency-Key is still being processed.",
        action: "Retry after Retry-After with the same key and body: you get that request's answer \
                 once it is done.",
    },
    Entry {
        code: "reservation_released",
        statuses: &[409],
        title: "Reservation released",
        meaning: "The order's stock reservation was released (the order was cancelled or expired), \
                  so its stock is no longer held and it cannot be confirmed.",
        action: "Place a new order.",
    },
    Entry {
        code: "response_timeout",
        statuses: &[503],
        title: "Response timeout",
        meaning: "The service could not answer in time (30 s by default), usually because \
                  something it depends on does not answer; it gave up, and what it had begun in \
                  its own database was rolled back.",
        action: "Retry after the number of seconds in Retry-After.",
    },
    Entry {
        code: "service_unavailable",
        statuses: &[503],
        title: "Service unavailable",
        meaning: "A service this request needs cannot be reached: at the gateway, no instance of \
                  the service named in `service` accepts connections, or all are failing \
                  (`reason` is `circuit_open`); behind it, a service another depends on is away. \
                  Nothing was done.",
        action: "Retry after the number of seconds in Retry-After.",
    },
    Entry {
        code: "streams_unavailable",
        statuses: &[503],
        title: "No stream available",
        meaning: "This notifier instance holds as many notification streams as it can.",
        action: "Reconnect after Retry-After, with Last-Event-ID so no notification is missed.",
    },
    Entry {
        code: "token_revoked",
        statuses: &[401],
        title: "Account disabled",
        meaning: "The account this access token was issued for has been deleted, so its tokens \
                  are refused everywhere.",
        action: "Nothing can be done with this account any more; register a new one.",
    },
    Entry {
        code: "too_many_attempts",
        statuses: &[429],
        title: "Too many sign-in attempts",
        meaning: "Signing in to this account from this address failed too often; sign-ins are \
                  refused for a while, even with the right password.",
        action: "Wait the number of seconds in Retry-After, then sign in with the right password.",
    },
    Entry {
        code: "too_many_registrations",
        statuses: &[429],
        title: "Too many registrations",
        meaning: "Too many accounts were registered from this address recently.",
        action: "Wait the number of seconds in Retry-After before registering again.",
    },
    Entry {
        code: "too_many_streams",
        statuses: &[429],
        title: "Too many streams",
        meaning: "You already have as many notification streams open as one user may \
                  (`max_streams_per_user`), in other tabs or devices.",
        action: "Close a stream you no longer need, then connect again after Retry-After.",
    },
    Entry {
        code: "total_too_large",
        statuses: &[422],
        title: "Order total too large",
        meaning: "The order's total (`total_cents`) is above the largest single payment \
                  (`max_total_cents`). Nothing was ordered and its stock was handed back.",
        action: "Split it into several smaller orders.",
    },
    Entry {
        code: "unknown_product",
        statuses: &[422],
        title: "Unknown product",
        meaning: "A line of the order names a product that does not exist (`product_id`; \
                  `errors` names the line). Nothing was reserved.",
        action: "Remove or correct that line; GET /products lists the catalogue.",
    },
    Entry {
        code: "unreadable_body",
        statuses: &[400],
        title: "Unreadable request body",
        meaning: "The request body could not be read, for example because the connection broke \
                  while it was being sent.",
        action: "Send the request again.",
    },
    Entry {
        code: "unsupported_media_type",
        statuses: &[415],
        title: "Unsupported media type",
        meaning: "The body was not sent in a format this route reads.",
        action: "Send JSON with `Content-Type: application/json`.",
    },
    Entry {
        code: "username_not_editable",
        statuses: &[403],
        title: "Username not editable",
        meaning: "Only an admin can change a username; the request tried to (`errors` names \
                  `username`).",
        action: "Leave `username` out of the change.",
    },
    Entry {
        code: "username_taken",
        statuses: &[409],
        title: "Username taken",
        meaning: "An account with this username exists already (or existed: a deleted account's \
                  name is never given to someone else).",
        action: "Choose another username.",
    },
    Entry {
        code: "validation_failed",
        statuses: &[422],
        title: "Invalid input",
        meaning: "The body was read, but a value in it is not acceptable: missing, of the wrong \
                  type, or out of range. `errors` lists each offending field by its JSON path \
                  (`items[0].quantity`) with a message.",
        action: "Fix the fields named in `errors` and send the request again.",
    },
];

/// The entry of `code`, if it is one.
pub fn lookup(code: &str) -> Option<&'static Entry> {
    CATALOGUE
        .binary_search_by(|entry| entry.code.cmp(code))
        .ok()
        .map(|index| &CATALOGUE[index])
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};
    use std::path::{Path, PathBuf};

    use super::*;

    #[test]
    fn codes_are_sorted_unique_and_snake_case_and_every_entry_is_complete() {
        for pair in CATALOGUE.windows(2) {
            assert!(
                pair[0].code < pair[1].code,
                "{} ≥ {}",
                pair[0].code,
                pair[1].code
            );
        }
        for entry in CATALOGUE {
            assert!(
                entry
                    .code
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || byte == b'_'),
                "{}",
                entry.code
            );
            assert_eq!(lookup(entry.code), Some(entry));
            assert!(!entry.statuses.is_empty(), "{}", entry.code);
            for status in entry.statuses {
                let status = http::StatusCode::from_u16(*status).unwrap();
                assert!(
                    status.is_client_error() || status.is_server_error(),
                    "{}",
                    entry.code
                );
            }
            for text in [entry.title, entry.meaning, entry.action] {
                assert!(!text.trim().is_empty(), "{}", entry.code);
                assert!(!text.contains("  "), "{}: {text:?}", entry.code);
            }
        }
        assert_eq!(lookup("no_such_code"), None);
    }

    /// Where the code of a constructor call is, among its arguments.
    #[derive(Debug, Clone, Copy)]
    enum CodeArgument {
        /// `Problem::new(status, "code", title)`.
        Second,
        /// `Problem::conflict("code", detail)`, with the status the helper fixes.
        First(u16),
    }

    /// The constructors that take a code, as they are called.
    const CONSTRUCTORS: &[(&str, CodeArgument)] = &[
        ("Problem::new(", CodeArgument::Second),
        ("Problem::bad_request(", CodeArgument::First(400)),
        ("Problem::unauthorized(", CodeArgument::First(401)),
        ("Problem::conflict(", CodeArgument::First(409)),
        ("Problem::service_unavailable(", CodeArgument::First(503)),
    ];

    /// One call of a code-taking constructor.
    #[derive(Debug)]
    struct Call {
        /// `file:line`.
        place: String,
        /// The code, when the argument is a string literal.
        code: Option<String>,
        /// The status, when the call names it (`StatusCode::NOT_FOUND`, or fixed by a helper).
        status: Option<u16>,
    }

    fn workspace() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Every `.rs` file below `dir`.
    fn sources(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                sources(&path, found);
            } else if path.extension().is_some_and(|ext| ext == "rs") {
                found.push(path);
            }
        }
    }

    /// The program text of a source file: without its unit tests (a code used only by a test is
    /// not answered by anyone) and without comments (which mention codes in prose).
    fn program(text: &str) -> String {
        let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
        text[..end]
            .lines()
            .map(|line| {
                if line.trim_start().starts_with("//") {
                    ""
                } else {
                    line
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The arguments of a call whose `(` ends just before `rest`, split at top-level commas.
    fn arguments(rest: &str) -> Vec<&str> {
        let mut depth = 0usize;
        let mut in_string = false;
        let mut escaped = false;
        let mut start = 0;
        let mut found = Vec::new();
        for (index, c) in rest.char_indices() {
            if in_string {
                match c {
                    _ if escaped => escaped = false,
                    '\\' => escaped = true,
                    '"' => in_string = false,
                    _ => {}
                }
                continue;
            }
            match c {
                '"' => in_string = true,
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => {
                    // A trailing comma leaves nothing after it.
                    let last = rest[start..index].trim();
                    if !last.is_empty() {
                        found.push(last);
                    }
                    return found;
                }
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    found.push(rest[start..index].trim());
                    start = index + 1;
                }
                _ => {}
            }
        }
        found
    }

    /// The value of a plain string literal argument (`"code"`).
    fn literal(argument: &str) -> Option<String> {
        let inner = argument.strip_prefix('"')?.strip_suffix('"')?;
        (!inner.contains(['"', '\\'])).then(|| inner.to_owned())
    }

    /// The status a `StatusCode::NAME` argument names.
    fn status_named(argument: &str) -> Option<u16> {
        let (_, name) = argument.rsplit_once("StatusCode::")?;
        (100..600).find(|code| {
            http::StatusCode::from_u16(*code)
                .ok()
                .and_then(|status| status.canonical_reason())
                .is_some_and(|reason| reason.to_ascii_uppercase().replace([' ', '-'], "_") == name)
        })
    }

    /// Every call of a code-taking constructor in `crates/*/src`, the problem module's own
    /// helpers included (`Self::new(StatusCode::NOT_FOUND, "not_found", ..)`).
    fn calls() -> Vec<Call> {
        let crates = workspace().join("crates");
        let mut files = Vec::new();
        for krate in std::fs::read_dir(&crates).unwrap().flatten() {
            sources(&krate.path().join("src"), &mut files);
        }
        files.sort();
        assert!(files.len() > 50, "too few sources found below {crates:?}");
        let problem_module = crates.join("platform/src/problem.rs");
        let mut calls = Vec::new();
        for file in files {
            if file.starts_with(crates.join("platform/src/problem")) {
                // This catalogue, and the pages made from it.
                continue;
            }
            let text = program(&std::fs::read_to_string(&file).unwrap());
            let relative = file.strip_prefix(&crates).unwrap().display().to_string();
            let mut constructors = CONSTRUCTORS.to_vec();
            if file == problem_module {
                constructors.push(("Self::new(", CodeArgument::Second));
            }
            for (call, position) in constructors {
                for (at, _) in text.match_indices(call) {
                    // `crate::Problem::new(` counts; `SomeProblem::new(` does not.
                    let before = text[..at].chars().next_back();
                    if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                        continue;
                    }
                    let args = arguments(&text[at + call.len()..]);
                    let (code, status) = match position {
                        CodeArgument::Second => {
                            let status = args.first().and_then(|first| {
                                let named = status_named(first);
                                assert!(
                                    named.is_some() || !first.contains("StatusCode::"),
                                    "{relative}: unknown status {first}"
                                );
                                named
                            });
                            (args.get(1), status)
                        }
                        CodeArgument::First(status) => (args.first(), Some(status)),
                    };
                    let line = text[..at].matches('\n').count() + 1;
                    calls.push(Call {
                        place: format!("{relative}:{line}"),
                        code: code.and_then(|code| literal(code)),
                        status,
                    });
                }
            }
        }
        calls
    }

    #[test]
    fn every_code_answered_anywhere_is_catalogued_and_every_entry_is_answered() {
        let calls = calls();
        let mut used: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut unknown = Vec::new();
        let mut wrong_status = Vec::new();
        let mut not_literal = Vec::new();
        for call in &calls {
            let Some(code) = &call.code else {
                not_literal.push(call.place.clone());
                continue;
            };
            used.entry(code.clone())
                .or_default()
                .insert(call.place.clone());
            match lookup(code) {
                None => unknown.push(format!("{code} ({})", call.place)),
                Some(entry) => {
                    if let Some(status) = call.status
                        && !entry.statuses.contains(&status)
                    {
                        wrong_status.push(format!("{code} {status} ({})", call.place));
                    }
                }
            }
        }
        assert!(used.len() > 30, "the scan found too few codes: {used:?}");
        assert!(
            unknown.is_empty(),
            "codes answered but not in platform::problem::catalogue: {unknown:#?}"
        );
        assert!(
            wrong_status.is_empty(),
            "codes answered with a status their catalogue entry does not list: {wrong_status:#?}"
        );
        // The helpers that take the code from their caller are the only calls without a literal:
        // anywhere else this scan could not see the code.
        let helpers: Vec<_> = not_literal
            .iter()
            .filter(|place| !place.starts_with("platform/src/problem.rs:"))
            .collect();
        assert!(
            helpers.is_empty(),
            "pass problem codes as string literals, so this test sees them: {helpers:#?}"
        );
        let dead: Vec<_> = CATALOGUE
            .iter()
            .filter(|entry| !used.contains_key(entry.code))
            .map(|entry| entry.code)
            .collect();
        assert!(
            dead.is_empty(),
            "catalogued codes nothing answers with: {dead:?}"
        );
    }

    #[test]
    fn the_scan_reads_calls_across_lines_and_qualified_statuses() {
        let args = arguments(
            "\n    http::StatusCode::NOT_FOUND,\n    \"notification_not_found\",\n    \
             \"Not (found)\",\n)\n.detail(\"x, y\")",
        );
        assert_eq!(args.len(), 3, "{args:?}");
        assert_eq!(status_named(args[0]), Some(404));
        assert_eq!(literal(args[1]).as_deref(), Some("notification_not_found"));
        assert_eq!(literal("code"), None);
        assert_eq!(status_named("StatusCode::PAYLOAD_TOO_LARGE"), Some(413));
        assert_eq!(status_named("status"), None);
        assert_eq!(
            program("a\n// \"x\"\nb\n#[cfg(test)]\nmod tests {}"),
            "a\n\nb"
        );
    }
}
