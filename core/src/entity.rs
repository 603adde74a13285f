//! The canonical entity types.

use std::fmt;
use std::str::FromStr;

macro_rules! entities {
    ($($variant:ident => $name:literal, $doc:literal;)*) => {
        /// A kind of personal or protected health information.
        ///
        /// The names (as printed by `Display` and parsed by `FromStr`) are the
        /// canonical ones used by the pattern pack, the CLI, reports and the
        /// Python bindings. They never change once released.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum Entity {
            $(#[doc = $doc] $variant,)*
        }

        impl Entity {
            /// Every entity type, in canonical order.
            pub const ALL: &'static [Entity] = &[$(Entity::$variant,)*];

            /// The canonical upper-case name, such as `SSN`.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Entity::$variant => $name,)*
                }
            }
        }

        impl FromStr for Entity {
            type Err = UnknownEntity;

            fn from_str(s: &str) -> Result<Entity, UnknownEntity> {
                $(if s.eq_ignore_ascii_case($name) {
                    return Ok(Entity::$variant);
                })*
                Err(UnknownEntity { name: s.to_string() })
            }
        }
    };
}

entities! {
    Person => "PERSON", "A person's name.";
    Date => "DATE", "A date tied to a person: birth, admission, discharge, visit, death.";
    Age => "AGE", "An age over 89 (HIPAA only restricts those).";
    Phone => "PHONE", "A telephone or fax number.";
    Email => "EMAIL", "An e-mail address.";
    Ssn => "SSN", "A US Social Security number.";
    Mrn => "MRN", "A medical record number.";
    HealthPlanId => "HEALTH_PLAN_ID", "A health plan beneficiary number (Medicare MBI, member id).";
    AccountNumber => "ACCOUNT_NUMBER", "A bank or billing account number, ABA routing number.";
    CreditCard => "CREDIT_CARD", "A payment card number.";
    Iban => "IBAN", "An international bank account number.";
    IpAddress => "IP_ADDRESS", "An IPv4 or IPv6 address.";
    Url => "URL", "A web address.";
    StreetAddress => "STREET_ADDRESS", "A street address, with optional unit, city, state and ZIP.";
    ZipCode => "ZIP_CODE", "A US ZIP code.";
    Npi => "NPI", "A US National Provider Identifier.";
    DeaNumber => "DEA_NUMBER", "A DEA registration number.";
    DriverLicense => "DRIVER_LICENSE", "A driver's licence number.";
    Passport => "PASSPORT", "A passport number.";
    Vin => "VIN", "A vehicle identification number.";
    DeviceId => "DEVICE_ID", "A device identifier or serial number (UDI, IMEI, serial).";
    MacAddress => "MAC_ADDRESS", "A network hardware (MAC) address.";
    Secret => "SECRET", "A credential: API key, token, JWT, password, private key.";
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a string that names no entity type.
///
/// Entity names come from configuration (flags, pattern files), never from
/// scanned data, so the message repeats the name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownEntity {
    name: String,
}

impl fmt::Display for UnknownEntity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown entity type {:?}; expected one of: {}",
            self.name,
            Entity::ALL
                .iter()
                .map(|e| e.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}

impl std::error::Error for UnknownEntity {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        assert_eq!(Entity::ALL.len(), 23);
        for &e in Entity::ALL {
            assert_eq!(e.as_str().parse::<Entity>().unwrap(), e);
            assert_eq!(
                e.as_str().to_ascii_lowercase().parse::<Entity>().unwrap(),
                e
            );
        }
        assert!("NOPE".parse::<Entity>().is_err());
    }
}
