//! Shipping addresses (contract §3.2): lengths checked, HTML tags stripped, `country` an
//! ISO 3166-1 alpha-2 code (upper-cased), `email` an address; stored with Gelato's keys.

use super::strip_tags;
use framework::collections::FieldError;
use framework::{Error, Result};
use serde_json::{json, Value};

/// Every ISO 3166-1 alpha-2 code.
const COUNTRIES: &str = "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW";

/// An address as the agent sends it.
#[derive(Debug, Clone, Default)]
pub struct Address {
    pub first_name: String,
    pub last_name: String,
    pub address_line_1: String,
    pub address_line_2: String,
    pub city: String,
    pub state: String,
    pub post_code: String,
    pub country: String,
    pub email: String,
    pub phone: String,
}

/// The field, whether it is required, and its longest length (contract §3.2).
const FIELDS: [(&str, bool, usize); 10] = [
    ("first_name", true, 100),
    ("last_name", true, 100),
    ("address_line_1", true, 200),
    ("address_line_2", false, 200),
    ("city", true, 100),
    ("state", false, 100),
    ("post_code", true, 20),
    ("country", true, 2),
    ("email", true, 254),
    ("phone", false, 30),
];

impl Address {
    fn values(&self) -> [&str; 10] {
        [
            &self.first_name,
            &self.last_name,
            &self.address_line_1,
            &self.address_line_2,
            &self.city,
            &self.state,
            &self.post_code,
            &self.country,
            &self.email,
            &self.phone,
        ]
    }

    /// The checked address in Gelato's keys (`firstName`, ..., `country` upper-cased),
    /// or a 400 naming every field that is wrong.
    pub fn checked(&self) -> Result<Value> {
        let clean: Vec<String> = self.values().iter().map(|v| strip_tags(v)).collect();
        let mut errors = Vec::new();
        for ((name, required, max), value) in FIELDS.iter().zip(&clean) {
            let n = value.chars().count();
            if *required && n == 0 {
                errors.push((format!("shipping_address.{name}"), FieldError::required()));
            } else if n > *max {
                errors.push((
                    format!("shipping_address.{name}"),
                    FieldError::new(
                        "validation_length_out_of_range",
                        format!("At most {max} characters."),
                    ),
                ));
            }
        }
        let country = clean[7].to_uppercase();
        if !country.is_empty() && !COUNTRIES.split(' ').any(|c| c == country) {
            errors.push((
                "shipping_address.country".into(),
                FieldError::new(
                    "validation_invalid_country",
                    "An ISO 3166-1 alpha-2 country code, like US, DE or JP.",
                ),
            ));
        }
        if !clean[8].is_empty() && !framework::collections::is_email(&clean[8]) {
            errors.push((
                "shipping_address.email".into(),
                FieldError::new("validation_is_email", "An e-mail address."),
            ));
        }
        if !errors.is_empty() {
            return Err(Error::fields("Invalid shipping address.", errors));
        }
        Ok(json!({
            "firstName": clean[0], "lastName": clean[1],
            "addressLine1": clean[2], "addressLine2": clean[3],
            "city": clean[4], "state": clean[5], "postCode": clean[6],
            "country": country, "email": clean[8], "phone": clean[9],
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn good() -> Address {
        Address {
            first_name: "Ada".into(),
            last_name: "Lovelace".into(),
            address_line_1: "<b>12</b> St James's Square".into(),
            city: "London".into(),
            post_code: "SW1Y 4JH".into(),
            country: "gb".into(),
            email: "ada@example.com".into(),
            ..Address::default()
        }
    }

    #[test]
    fn addresses_are_checked_and_cleaned() {
        assert_eq!(COUNTRIES.split(' ').count(), 249);
        let a = good().checked().expect("valid");
        assert_eq!(a["country"], "GB");
        assert_eq!(a["addressLine1"], "12 St James's Square");
        assert_eq!(a["addressLine2"], "");
        for (field, value) in [
            ("country", "XX"),
            ("country", "GBR"),
            ("email", "not-an-address"),
            ("first_name", "<i></i>"),
            ("post_code", "123456789012345678901"),
        ] {
            let mut bad = good();
            match field {
                "country" => bad.country = value.into(),
                "email" => bad.email = value.into(),
                "first_name" => bad.first_name = value.into(),
                _ => bad.post_code = value.into(),
            }
            let err = bad.checked().expect_err(field);
            assert!(
                matches!(&err, Error::Validation { fields, .. } if fields["shipping_address"].get(field).is_some()),
                "{field}: {err:?}"
            );
        }
    }
}
