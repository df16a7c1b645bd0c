//! The Kafka settings of distributed mode: parsed whether or not the binary has Kafka support.

/// Where the Kafka cluster is and how microshop uses it.
#[derive(clap::Args, Debug, Clone, Default)]
#[group(id = "kafka-settings")]
#[command(next_help_heading = "Kafka (distributed mode)")]
pub struct KafkaConfig {
    /// Kafka bootstrap servers. Set, events go through Kafka; unset, through an in-process bus
    /// (embedded mode; a service served alone then keeps its events to itself).
    #[arg(
        long = "kafka-brokers",
        id = "kafka-brokers",
        env = "MICROSHOP_KAFKA_BROKERS",
        value_name = "HOST:PORT[,HOST:PORT...]"
    )]
    pub brokers: Option<String>,

    /// Partitions of the topics microshop creates when they are missing (the most consumer
    /// instances of one group that can share a topic).
    #[arg(
        long = "kafka-partitions",
        id = "kafka-partitions",
        env = "MICROSHOP_KAFKA_PARTITIONS",
        value_name = "COUNT",
        default_value_t = 3,
        value_parser = clap::value_parser!(i32).range(1..=10_000)
    )]
    pub partitions: i32,

    /// Replication factor of the topics microshop creates (3 on a production cluster).
    #[arg(
        long = "kafka-replication-factor",
        id = "kafka-replication-factor",
        env = "MICROSHOP_KAFKA_REPLICATION_FACTOR",
        value_name = "COUNT",
        default_value_t = 1,
        value_parser = clap::value_parser!(i32).range(1..=100)
    )]
    pub replication_factor: i32,

    /// Prefix of every topic and consumer group name, so that several deployments can share a
    /// cluster (`staging.` gives `staging.order-events`).
    #[arg(
        long = "kafka-namespace",
        id = "kafka-namespace",
        env = "MICROSHOP_KAFKA_NAMESPACE",
        value_name = "PREFIX",
        default_value = ""
    )]
    pub namespace: String,

    /// Extra librdkafka properties, `name=value` (`security.protocol=SASL_SSL`,
    /// `sasl.mechanisms=PLAIN`, ...); repeat the flag, or separate them with `;` in the
    /// variable.
    #[arg(
        long = "kafka-property",
        id = "kafka-property",
        env = "MICROSHOP_KAFKA_PROPERTIES",
        value_name = "NAME=VALUE",
        value_delimiter = ';',
        value_parser = parse_property,
        hide_env_values = true
    )]
    pub properties: Vec<(String, String)>,
}

fn parse_property(text: &str) -> Result<(String, String), String> {
    match text.split_once('=') {
        Some((name, value)) if !name.trim().is_empty() => {
            Ok((name.trim().to_owned(), value.trim().to_owned()))
        }
        _ => Err(format!("{text:?} is not NAME=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn properties_are_name_value_pairs() {
        assert_eq!(
            parse_property("security.protocol = SASL_SSL").unwrap(),
            ("security.protocol".to_owned(), "SASL_SSL".to_owned())
        );
        assert!(parse_property("no-equals-sign").is_err());
        assert!(parse_property("=value").is_err());
    }
}
