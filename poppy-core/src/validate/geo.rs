//! Geography restriction values (§3.6): the geo regions and the countries
//! in each (from the original's `geo_zones.py` and the Akamai driver's
//! region → country mapping), with ISO 3166-1 alpha-2 codes where one exists.
//!
//! Fixes over the original lists: `'Jordan, Kenya'` and
//! `'Senegal, Seychelles'` were single strings there (a missing pair of
//! quotes); they are four countries here. Costa Rica is listed under South
//! America only, as in the Akamai mapping (the flat zone list also had it
//! under North America).

/// One country (or territory) a geography rule may name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Country {
    /// The name a restriction rule uses (`USA`, `United Kingdom`…).
    pub name: &'static str,
    /// ISO 3166-1 alpha-2 code, `None` for names without a current code
    /// (`Netherlands Antilles`, `Virgin`, `Yugoslavia`).
    pub code: Option<&'static str>,
}

/// A geo region and the countries it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// The name a restriction rule uses (`North America`, `Australia/NZ`…).
    pub name: &'static str,
    /// The countries in the region, in the original's order.
    pub countries: &'static [Country],
}

const fn c(name: &'static str, code: &'static str) -> Country {
    Country {
        name,
        code: Some(code),
    }
}

const fn no_code(name: &'static str) -> Country {
    Country { name, code: None }
}

/// Every region, in the original's order.
pub const REGIONS: &[Region] = &[
    Region {
        name: "North America",
        countries: &[
            c("Antigua and Barbuda", "AG"),
            c("Aruba", "AW"),
            c("Bahamas", "BS"),
            c("Barbados", "BB"),
            c("Belize", "BZ"),
            c("Bermuda", "BM"),
            c("British Virgin Islands", "VG"),
            c("Cayman Islands", "KY"),
            c("Cuba", "CU"),
            c("Dominica", "DM"),
            c("Dominican Republic", "DO"),
            c("El Salvador", "SV"),
            c("Greenland", "GL"),
            c("Grenada", "GD"),
            c("Guadeloupe", "GP"),
            c("Guatemala", "GT"),
            c("Haiti", "HT"),
            c("Honduras", "HN"),
            c("Jamaica", "JM"),
            c("Martinique", "MQ"),
            c("Mexico", "MX"),
            c("Montserrat", "MS"),
            no_code("Netherlands Antilles"),
            c("Nicaragua", "NI"),
            c("USA", "US"),
            c("Canada", "CA"),
            c("Panama", "PA"),
            c("Puerto Rico", "PR"),
            c("St Kitts and Nevis", "KN"),
            c("St Lucia", "LC"),
            c("St Pierre and Miquelon", "PM"),
            c("St Vincent and The Grenadines", "VC"),
            c("Trinidad and Tobago", "TT"),
            c("Turks and Caicos Islands", "TC"),
            no_code("Virgin"),
            c("St Tome and Principe", "ST"),
        ],
    },
    Region {
        name: "South America",
        countries: &[
            c("Argentina", "AR"),
            c("Bolivia", "BO"),
            c("Brazil", "BR"),
            c("Chile", "CL"),
            c("Colombia", "CO"),
            c("Costa Rica", "CR"),
            c("Ecuador", "EC"),
            c("Falkland Islands", "FK"),
            c("French Guiana", "GF"),
            c("Guyana", "GY"),
            c("Paraguay", "PY"),
            c("Peru", "PE"),
            c("South Georgia and South Sanwich", "GS"),
            c("Suriname", "SR"),
            c("Uruguay", "UY"),
            c("Venezuela", "VE"),
        ],
    },
    Region {
        name: "EMEA(Europe, Middle East and Africa)",
        countries: &[
            c("Albania", "AL"),
            c("Algeria", "DZ"),
            c("Andorra", "AD"),
            c("Angola", "AO"),
            c("Austria", "AT"),
            c("Bahrain", "BH"),
            c("Belarus", "BY"),
            c("Belgium", "BE"),
            c("Benin", "BJ"),
            c("Bosnia and Herzegovina", "BA"),
            c("Botswana", "BW"),
            c("Bouvet Island", "BV"),
            c("British Indian Ocean Territory", "IO"),
            c("Bulgaria", "BG"),
            c("Burkina", "BF"),
            c("Burundi", "BI"),
            c("Cameroon", "CM"),
            c("Cape Verde", "CV"),
            c("Central African Republic", "CF"),
            c("Chad", "TD"),
            c("Comoros", "KM"),
            c("Congo", "CG"),
            c("Cote D'Ivoire", "CI"),
            c("Croatia", "HR"),
            c("Cyprus", "CY"),
            c("Czech Republic", "CZ"),
            c("Democratic Republic of Congo", "CD"),
            c("Denmark", "DK"),
            c("Djibouti", "DJ"),
            c("Egypt", "EG"),
            c("Equatorial Guinea", "GQ"),
            c("Eritrea", "ER"),
            c("Estonia", "EE"),
            c("Ethiopia", "ET"),
            c("Faeroe Islands", "FO"),
            c("Finland", "FI"),
            c("France", "FR"),
            c("Gabon", "GA"),
            c("Gambia", "GM"),
            c("Germany", "DE"),
            c("Ghana", "GH"),
            c("Gibraltar", "GI"),
            c("Greece", "GR"),
            c("Guinea", "GN"),
            c("Guinea Bissau", "GW"),
            c("Hungary", "HU"),
            c("Iceland", "IS"),
            c("Iran", "IR"),
            c("Iraq", "IQ"),
            c("Ireland", "IE"),
            c("Israel", "IL"),
            c("Italy", "IT"),
            c("Jordan", "JO"),
            c("Kenya", "KE"),
            c("Kuwait", "KW"),
            c("Latvia", "LV"),
            c("Lebanon", "LB"),
            c("Lesotho", "LS"),
            c("Liberia", "LR"),
            c("Libya", "LY"),
            c("Liechtenstein", "LI"),
            c("Lithuania", "LT"),
            c("Luxembourg", "LU"),
            c("Macedonia", "MK"),
            c("Madagascar", "MG"),
            c("Malawi", "MW"),
            c("Mali", "ML"),
            c("Malta", "MT"),
            c("Mauritania", "MR"),
            c("Mauritius", "MU"),
            c("Mayotte", "YT"),
            c("Moldavia", "MD"),
            c("Monaco", "MC"),
            c("Morocco", "MA"),
            c("Mozambique", "MZ"),
            c("Namibia", "NA"),
            c("Netherlands", "NL"),
            c("Niger", "NE"),
            c("Nigeria", "NG"),
            c("Norway", "NO"),
            c("Oman", "OM"),
            c("Poland", "PL"),
            c("Portugal", "PT"),
            c("Qatar", "QA"),
            c("Reunion", "RE"),
            c("Romania", "RO"),
            c("Russia", "RU"),
            c("Rwanda", "RW"),
            c("San Marino", "SM"),
            c("Saudi Arabia", "SA"),
            c("Senegal", "SN"),
            c("Seychelles", "SC"),
            c("Sierra Leone", "SL"),
            c("Slovakia", "SK"),
            c("Slovenia", "SI"),
            c("Somalia", "SO"),
            c("South Africa", "ZA"),
            c("Spain", "ES"),
            c("St Helena", "SH"),
            c("Sudan", "SD"),
            c("Svalbard", "SJ"),
            c("Swaziland", "SZ"),
            c("Sweden", "SE"),
            c("Switzerland", "CH"),
            c("Syria", "SY"),
            c("Tanzania", "TZ"),
            c("Togo", "TG"),
            c("Tunisia", "TN"),
            c("Turkey", "TR"),
            c("Uganda", "UG"),
            c("United Arab Emirates", "AE"),
            c("United Kingdom", "GB"),
            c("Vatican City", "VA"),
            c("Western Sahara", "EH"),
            c("Yemen", "YE"),
            no_code("Yugoslavia"),
            c("Zambia", "ZM"),
            c("Zimbabwe", "ZW"),
        ],
    },
    Region {
        name: "Japan",
        countries: &[c("Japan", "JP")],
    },
    Region {
        name: "India",
        countries: &[c("India", "IN")],
    },
    Region {
        name: "Australia/NZ",
        countries: &[c("Australia", "AU"), c("New Zealand", "NZ")],
    },
    Region {
        name: "Rest Of APAC",
        countries: &[
            c("Afghanistan", "AF"),
            c("American Samoa", "AS"),
            c("Antarctica", "AQ"),
            c("Armenia", "AM"),
            c("Azerbaijan", "AZ"),
            c("Bangladesh", "BD"),
            c("Bhutan", "BT"),
            c("Brunei", "BN"),
            c("Cambodia", "KH"),
            c("Christmas Island", "CX"),
            c("Cocos", "CC"),
            c("Cook Islands", "CK"),
            c("East Timor", "TL"),
            c("Fiji", "FJ"),
            c("French Polynesia", "PF"),
            c("French Southern Territories", "TF"),
            c("Georgia", "GE"),
            c("Guam", "GU"),
            c("Heard and McDonald Islands", "HM"),
            c("Hong Kong", "HK"),
            c("Indonesia", "ID"),
            c("Kazakhstan", "KZ"),
            c("Kiribati", "KI"),
            c("Kyrgyzstan", "KG"),
            c("Laos", "LA"),
            c("Macau", "MO"),
            c("Malaysia", "MY"),
            c("Maldives", "MV"),
            c("Marshall Islands", "MH"),
            c("Micronesia", "FM"),
            c("Mongolia", "MN"),
            c("Myanmar", "MM"),
            c("Nauru", "NR"),
            c("Nepal", "NP"),
            c("New Caledonia", "NC"),
            c("Niue", "NU"),
            c("Norfolk Island", "NF"),
            c("North Korea", "KP"),
            c("Northern Mariana Islands", "MP"),
            c("Pakistan", "PK"),
            c("Palau", "PW"),
            c("Papua New Guinea", "PG"),
            c("Philippines", "PH"),
            c("Pitcairn", "PN"),
        ],
    },
];

/// The region called `name` (exact, case-sensitive, as in the original).
pub fn region(name: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.name == name)
}

/// The country called `name` (exact, case-sensitive).
pub fn country(name: &str) -> Option<&'static Country> {
    REGIONS
        .iter()
        .flat_map(|r| r.countries.iter())
        .find(|c| c.name == name)
}

/// The region a country belongs to.
pub fn region_of(country_name: &str) -> Option<&'static Region> {
    REGIONS
        .iter()
        .find(|r| r.countries.iter().any(|c| c.name == country_name))
}

/// Whether a geography rule may name `geography`: a region or a country.
pub fn is_supported(geography: &str) -> bool {
    region(geography).is_some() || country(geography).is_some()
}

/// The message for an unsupported geography (§3.6).
pub(crate) fn unsupported_message(geography: &str) -> String {
    format!("Country/Area {geography} is not supported in geo zones")
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn regions_and_countries_are_supported() {
        for ok in [
            "North America",
            "South America",
            "EMEA(Europe, Middle East and Africa)",
            "Japan",
            "India",
            "Australia/NZ",
            "Rest Of APAC",
            "USA",
            "Mexico",
            "Canada",
            "United Kingdom",
            "Australia",
            "New Zealand",
            "Jordan",
            "Kenya",
            "Senegal",
            "Seychelles",
            "Pitcairn",
        ] {
            assert!(is_supported(ok), "{ok} should be supported");
        }
        for bad in [
            "US",
            "usa",
            "NOTACOUNTRY",
            "Jordan, Kenya",
            "EMEA",
            "APAC",
            "",
        ] {
            assert!(!is_supported(bad), "{bad:?} should not be supported");
        }
    }

    #[test]
    fn regions_list_their_countries() {
        let anz = region("Australia/NZ").map(|r| r.countries.to_vec());
        assert_eq!(
            anz,
            Some(vec![c("Australia", "AU"), c("New Zealand", "NZ")])
        );
        assert_eq!(region_of("USA").map(|r| r.name), Some("North America"));
        assert_eq!(
            region_of("Costa Rica").map(|r| r.name),
            Some("South America")
        );
        assert_eq!(country("United Kingdom").and_then(|c| c.code), Some("GB"));
        assert_eq!(country("Yugoslavia").map(|c| c.code), Some(None));
    }

    #[test]
    fn every_country_is_in_exactly_one_region_and_codes_are_unique() {
        let mut names = HashSet::new();
        let mut codes = HashSet::new();
        for r in REGIONS {
            for c in r.countries {
                assert!(names.insert(c.name), "{} listed twice", c.name);
                if let Some(code) = c.code {
                    assert!(codes.insert(code), "code {code} used twice");
                    assert_eq!(code.len(), 2);
                }
            }
        }
        assert_eq!(REGIONS.len(), 7);
    }
}
