//! Events on the wire: CloudEvents' Kafka binary mode (structured mode accepted too).

use super::*;

/// The CloudEvents binary-mode headers of an event.
pub(super) fn headers_of(event: &Event) -> OwnedHeaders {
    let time = event.time.format(&Rfc3339).unwrap_or_default();
    let mut headers = OwnedHeaders::new_with_capacity(9);
    for (key, value) in [
        ("ce_specversion", event.specversion.as_str()),
        ("ce_id", event.id.as_str()),
        ("ce_source", event.source.as_str()),
        ("ce_type", event.kind.as_str()),
        ("ce_time", time.as_str()),
        ("ce_subject", event.subject.as_str()),
        ("content-type", event.datacontenttype.as_str()),
    ] {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    if let Some(traceparent) = &event.traceparent {
        headers = headers.insert(Header {
            key: "traceparent",
            value: Some(traceparent.as_str()),
        });
    }
    if let Some(reason) = &event.deadletterreason {
        headers = headers.insert(Header {
            key: "ce_deadletterreason",
            value: Some(reason.as_str()),
        });
    }
    headers
}

/// Rebuilds the event of a message, in binary mode (`ce_*` headers) or structured mode (the
/// whole event as the value); the reason when it is neither.
pub(super) fn decode(message: &impl Message) -> Result<Event, String> {
    let mut attributes: HashMap<&str, String> = HashMap::new();
    if let Some(headers) = message.headers() {
        for header in headers.iter() {
            if let Some(value) = header.value {
                let value = std::str::from_utf8(value)
                    .map_err(|_| format!("header {} is not UTF-8", header.key))?;
                attributes.insert(header.key, value.to_owned());
            }
        }
    }
    let payload = message.payload().unwrap_or_default();
    let Some(id) = attributes.remove("ce_id") else {
        return serde_json::from_slice::<Event>(payload).map_err(|error| {
            format!("neither a binary-mode nor a structured CloudEvent: {error}")
        });
    };
    let mut required = |name: &str| {
        attributes
            .remove(name)
            .ok_or_else(|| format!("header {name} is missing"))
    };
    let specversion = required("ce_specversion")?;
    let source = required("ce_source")?;
    let kind = required("ce_type")?;
    let subject = match attributes.remove("ce_subject") {
        Some(subject) => subject,
        None => String::from_utf8_lossy(message.key().unwrap_or_default()).into_owned(),
    };
    let time = match attributes.remove("ce_time") {
        Some(text) => OffsetDateTime::parse(&text, &Rfc3339)
            .map_err(|error| format!("header ce_time is not RFC 3339: {error}"))?,
        None => OffsetDateTime::now_utc(),
    };
    let data = serde_json::from_slice(payload)
        .map_err(|error| format!("the data is not JSON: {error}"))?;
    Ok(Event {
        specversion,
        id,
        source,
        kind,
        time,
        subject,
        datacontenttype: attributes
            .remove("content-type")
            .unwrap_or_else(|| "application/json".to_owned()),
        data,
        traceparent: attributes
            .remove("traceparent")
            .or_else(|| attributes.remove("ce_traceparent")),
        deadletterreason: attributes.remove("ce_deadletterreason"),
    })
}
