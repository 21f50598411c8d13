//! A port a component listens on, as a stack writes it: a whole number
//! from 1 to 65535, read with the stack's own messages (`a port is 1 to
//! 65535`, see `de`) and described by the same limits in the JSON Schema.
//! Options that set a port hold a [`Port`] rather than repeating how one
//! is read.

use std::fmt;

use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Deserialize, Deserializer, Serialize};

use super::de;

/// A TCP or UDP port, 1 to 65535 once read from a stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Port(u16);

impl Port {
    /// A port known to be valid: a default of the code's own.
    pub const fn new(port: u16) -> Port {
        Port(port)
    }

    /// The port's number.
    pub const fn get(self) -> u16 {
        self.0
    }
}

impl From<Port> for u16 {
    fn from(p: Port) -> u16 {
        p.0
    }
}

impl fmt::Display for Port {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl<'de> Deserialize<'de> for Port {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Port, D::Error> {
        de::port(d).map(Port)
    }
}

impl JsonSchema for Port {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Port".into()
    }

    /// Written out where it is used, as the options always were.
    fn inline_schema() -> bool {
        true
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        de::PORT.schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(yaml: &str) -> Result<Port, String> {
        serde_yaml::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn reads_1_to_65535_with_the_stacks_messages() {
        assert_eq!(read("80"), Ok(Port::new(80)));
        assert_eq!(read("65535").map(Port::get), Ok(65535));
        let zero = read("0").unwrap_err();
        assert!(
            zero.starts_with("`0` is out of range: a port is 1 to 65535"),
            "{zero}"
        );
        let quoted = read("'8080'").unwrap_err();
        assert!(
            quoted.contains("is quoted text: a port is 1 to 65535"),
            "{quoted}"
        );
    }

    #[test]
    fn shows_and_serializes_as_its_number() {
        assert_eq!(Port::new(443).to_string(), "443");
        assert_eq!(serde_json::to_string(&Port::new(443)).unwrap(), "443");
        assert_eq!(u16::from(Port::new(8404)), 8404);
    }

    #[test]
    fn its_schema_is_the_port_range() {
        let schema = schemars::schema_for!(Port);
        let v = serde_json::to_value(&schema).unwrap();
        assert_eq!(v["minimum"], 1);
        assert_eq!(v["maximum"], 65535);
        assert_eq!(v["type"], "integer");
    }
}
