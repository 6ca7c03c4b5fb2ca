//! Domain-name rules (§3.1): the normal domain grammar, shared-SSL labels,
//! root domains, dotted-quad IPv4 origins and the URL-parameter validator.

use crate::error::Error;

/// A normal (non-shared) domain, as the original's regex
/// `^((?=[a-z0-9-]{1,63}\.)[a-z0-9]+(-[a-z0-9]+)*\.)+[a-z]{2,63}$` accepts:
/// ASCII lower case only, at least two labels, every label but the last
/// 1..63 characters of letters and digits joined by single hyphens (so no
/// leading, trailing or doubled hyphen, hence no punycode `xn--`), and a
/// last label of 2..63 letters.
pub fn is_valid_domain(name: &str) -> bool {
    let mut labels: Vec<&str> = name.split('.').collect();
    let Some(tld) = labels.pop() else {
        return false;
    };
    if labels.is_empty() {
        return false;
    }
    let tld_ok = (2..=63).contains(&tld.len()) && tld.bytes().all(|b| b.is_ascii_lowercase());
    tld_ok
        && labels.iter().all(|label| {
            label.len() <= 63
                && label.split('-').all(|part| {
                    !part.is_empty()
                        && part
                            .bytes()
                            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
                })
        })
}

/// A shared-SSL domain: a single DNS label of lower-case letters, digits
/// and hyphens that starts and ends with a letter or digit.
///
/// The original's `^[a-z0-9][a-z0-9-]{0,62}[a-z0-9]?$` also let a label end
/// in a hyphen and be 64 characters long; neither is a valid DNS label once
/// the shard suffix is appended, so both are rejected here.
pub fn is_shared_label(label: &str) -> bool {
    let bytes = label.as_bytes();
    let edge_ok = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    (1..=63).contains(&bytes.len())
        && bytes.first().is_some_and(edge_ok)
        && bytes.last().is_some_and(edge_ok)
        && bytes
            .iter()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
}

/// A dotted-quad IPv4 address as the original's origin regex accepts it:
/// each octet is one digit, any two digits, or 100..=255.
pub fn is_valid_ipv4(s: &str) -> bool {
    let octets: Vec<&str> = s.split('.').collect();
    octets.len() == 4
        && octets.iter().all(|o| {
            let b = o.as_bytes();
            b.iter().all(u8::is_ascii_digit)
                && match b.len() {
                    1 | 2 => true,
                    3 => {
                        b[0] == b'1'
                            || (b[0] == b'2' && (b[1] <= b'4' || (b[1] == b'5' && b[2] <= b'5')))
                    }
                    _ => false,
                }
        })
}

/// An origin host: a valid domain name or a dotted-quad IPv4 address
/// (IPv6 origins are not supported, as in the original).
pub fn is_valid_origin(origin: &str) -> bool {
    is_valid_domain(origin) || is_valid_ipv4(origin)
}

/// Second-level names under which a three-label domain is still a root
/// domain (`x.co.uk`), grouped by the top-level domains they apply to.
///
/// These are the lists of the original's `root_domain_regexes.py`. There
/// they were written as multi-line raw strings, so the line breaks and
/// indentation became part of some alternatives (`\n    an`, `\n    qld`…),
/// which could then never match — the UK and Hungarian patterns could not
/// match at all. The lists below are what those patterns were meant to say.
const ROOT_SECOND_LEVELS: &[(&[&str], &[&str])] = &[
    (
        &[
            "ac", "biz", "co", "com", "edu", "gov", "id", "int", "ltd", "me", "mil", "mod", "my",
            "name", "net", "nhs", "nic", "nom", "or", "org", "plc", "sch", "web",
        ],
        &[
            "ac", "ad", "ae", "af", "ag", "ai", "al", "am", "an", "ao", "aq", "ar", "as", "at",
            "au", "aw", "ax", "az", "ba", "bb", "bd", "be", "bf", "bg", "bh", "bi", "bj", "bm",
            "bn", "bo", "br", "bs", "bt", "bv", "bw", "by", "bz", "ca", "cc", "cd", "cf", "cg",
            "ch", "ci", "ck", "cl", "cm", "cn", "co", "cr", "cu", "cv", "cw", "cx", "cy", "cz",
            "de", "dj", "dk", "dm", "do", "dz", "ec", "ee", "eg", "er", "es", "et", "eu", "fi",
            "fj", "fk", "fm", "fo", "fr", "ga", "gd", "ge", "gf", "gg", "gh", "gi", "gl", "gm",
            "gn", "gp", "gq", "gr", "gs", "gt", "gu", "gw", "gy", "hk", "hm", "hn", "hr", "ht",
            "hu", "id", "ie", "il", "im", "in", "io", "iq", "ir", "is", "it", "je", "jm", "jo",
            "jp", "ke", "kg", "kh", "ki", "km", "kn", "kp", "kr", "kw", "ky", "kz", "la", "lb",
            "lc", "li", "lk", "lr", "ls", "lt", "lu", "lv", "ly", "ma", "mc", "md", "me", "mg",
            "mh", "mk", "ml", "mm", "mn", "mo", "mp", "mq", "mr", "ms", "mt", "mu", "mv", "mw",
            "mx", "my", "mz", "na", "nc", "ne", "nf", "ng", "ni", "nl", "no", "np", "nr", "nu",
            "nz", "om", "pa", "pe", "pf", "pg", "ph", "pk", "pl", "pm", "pn", "pr", "ps", "pt",
            "pw", "py", "qa", "re", "ro", "rs", "ru", "rw", "sa", "sb", "sc", "sd", "se", "sg",
            "sh", "si", "sk", "sl", "sm", "sn", "so", "sr", "st", "su", "sv", "sx", "sy", "sz",
            "tc", "td", "tf", "tg", "th", "tj", "tk", "tl", "tm", "tn", "to", "tp", "tr", "tt",
            "tv", "tw", "tz", "ua", "ug", "uk", "us", "uy", "uz", "va", "vc", "ve", "vg", "vi",
            "vn", "vu", "wf", "ws", "ye", "yt", "za", "zm", "zw",
        ],
    ),
    (
        &[
            "act", "asn", "com", "csiro", "edu", "gov", "id", "net", "nsw", "nt", "org", "oz",
            "qld", "sa", "tas", "vic", "wa",
        ],
        &["au"],
    ),
    (&["ac", "co", "gv", "or", "priv"], &["at"]),
    (
        &[
            "aeroport",
            "avocat",
            "avoues",
            "cci",
            "chambagri",
            "chirurgiens-dentistes",
            "experts-comptables",
            "geometre-expert",
            "greta",
            "huissier-justice",
            "medecin",
            "notaires",
            "pharmacien",
            "port",
            "veterinaire",
        ],
        &["fr"],
    ),
    (
        &[
            "co", "2000", "erotika", "jogasz", "sex", "video", "info", "agrar", "film", "konyvelo",
            "shop", "org", "bolt", "forum", "lakas", "suli", "priv", "casino", "games", "media",
            "szex", "sport", "city", "hotel", "news", "tozsde", "tm", "erotica", "ingatlan",
            "reklam", "utazas",
        ],
        &["hu"],
    ),
    (
        &[
            "ac",
            "com",
            "edu",
            "int",
            "net",
            "org",
            "pp",
            "gov",
            "mil",
            "test",
            "adygeya",
            "bashkiria",
            "ulan-ude",
            "buryatia",
            "dagestan",
            "nalchik",
            "kalmykia",
            "kchr",
            "ptz",
            "karelia",
            "komi",
            "mari-el",
            "joshkar-ola",
            "mari",
            "mordovia",
            "yakutia",
            "vladikavkaz",
            "kazan",
            "tatarstan",
            "tuva",
            "udmurtia",
            "izhevsk",
            "udm",
            "khakassia",
            "grozny",
            "chuvashia",
            "altai",
            "kuban",
            "krasnoyarsk",
            "marine",
            "vladivostok",
            "stavropol",
            "stv",
            "khabarovsk",
            "khv",
            "amur",
            "arkhangelsk",
            "astrakhan",
            "belgorod",
            "bryansk",
            "vladimir",
            "volgograd",
            "tsaritsyn",
            "vologda",
            "voronezh",
            "vrn",
            "cbg",
            "ivanovo",
            "irkutsk",
            "koenig",
            "kaluga",
            "kamchatka",
            "kemerovo",
            "kirov",
            "vyatka",
            "kostroma",
            "kurgan",
            "kursk",
            "lipetsk",
            "magadan",
            "mosreg",
            "murmansk",
            "nnov",
            "nov",
            "nsk",
            "novosibirsk",
            "omsk",
            "orenburg",
            "oryol",
            "penza",
            "perm",
            "pskov",
            "rnd",
            "ryazan",
            "samara",
            "saratov",
            "sakhalin",
            "yuzhno-sakhalinsk",
            "yekaterinburg",
            "e-burg",
            "smolensk",
            "tambov",
            "tver",
            "tomsk",
            "tsk",
            "tom",
            "tula",
            "tyumen",
            "simbirsk",
            "chelyabinsk",
            "chel",
            "chita",
            "yaroslavl",
            "msk",
            "spb",
            "bir",
            "jar",
            "palana",
            "dudinka",
            "surgut",
            "chukotka",
            "yamal",
            "amursk",
            "baikal",
            "cmw",
            "fareast",
            "jamal",
            "kms",
            "k-uralsk",
            "kustanai",
            "kuzbass",
            "magnitka",
            "mytis",
            "nakhodka",
            "nkz",
            "norilsk",
            "snz",
            "oskol",
            "pyatigorsk",
            "rubtsovsk",
            "syzran",
            "vdonskzgrad",
        ],
        &["ru"],
    ),
    (
        &["ac", "gov", "law", "mil", "net", "nom", "school"],
        &["za"],
    ),
    (&["gob", "nom", "org"], &["es"]),
    (
        &[
            "av", "bbs", "bel", "biz", "com", "dr", "edu", "gen", "gov", "info", "k12", "kep",
            "name", "net", "org", "pol", "tel", "tsk", "tv", "web",
        ],
        &["tr"],
    ),
    (
        &[
            "ac", "co", "gov", "ltd", "me", "mod", "net", "nhs", "org", "plc", "police", "sch",
        ],
        &["uk"],
    ),
    (
        &[
            "al", "ak", "az", "ar", "as", "ca", "co", "ct", "de", "dc", "fl", "ga", "gu", "hi",
            "id", "il", "in", "ia", "ks", "ky", "la", "me", "md", "ma", "mi", "mn", "mp", "ms",
            "mo", "mt", "ne", "nv", "nh", "nj", "nm", "ny", "nc", "nd", "oh", "ok", "or", "pa",
            "pr", "ri", "sc", "sd", "tn", "tx", "um", "ut", "vt", "va", "vi", "wa", "wv", "wi",
            "wy",
        ],
        &["us"],
    ),
];

/// Whether `name` is a root domain, on which most DNS providers cannot set
/// a CNAME: any two-label name, and a three-label name whose last two
/// labels are a country's second-level registry (`x.co.uk`, `x.com.au`,
/// `x.ny.us`). Four or more labels are never root; a single label is not
/// a root domain either (it fails [`is_valid_domain`] instead).
pub fn is_root_domain(name: &str) -> bool {
    let labels: Vec<&str> = name.split('.').collect();
    match labels.as_slice() {
        [_, _] => true,
        [_, second, top] => ROOT_SECOND_LEVELS
            .iter()
            .any(|(seconds, tops)| tops.contains(top) && seconds.contains(second)),
        _ => false,
    }
}

/// The message for a root domain (§3.1).
pub(crate) fn root_domain_message(domain: &str) -> String {
    format!(
        "{domain} is a root domain. Most DNS providers do not allow setting a CNAME on a root \
         domain. Please add a subdomain (e.g. www.{domain})"
    )
}

/// A domain given in a URL (`is_valid_domain_by_name`): 3..253 characters,
/// a normal domain or a shared-SSL label.
pub(crate) fn domain_param(domain: &str) -> Result<(), Error> {
    if domain.is_empty() {
        return Err(Error::BadRequest("Empty value not permitted".to_owned()));
    }
    let n = domain.chars().count();
    if n > 253 {
        return Err(Error::BadRequest(format!("Domain {domain} is too long")));
    }
    if n < 3 {
        return Err(Error::BadRequest(format!("Domain {domain} is too short")));
    }
    if !is_valid_domain(domain) && !is_shared_label(domain) {
        return Err(Error::BadRequest(format!("Domain {domain} is not valid")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_domains_follow_the_original_grammar() {
        for ok in [
            "www.mywebsite.com",
            "a.co",
            "blog.my-web-site.com",
            "www.mywebsite.co.in",
            "x1.y2.z3.example.org",
        ] {
            assert!(is_valid_domain(ok), "{ok} should be valid");
        }
        for bad in [
            "www.DOMAIN.com",
            "mywebsite.com ",
            " mywebsite.com",
            "abcd.-mywebsite.com",
            "mywebsite-.com",
            "my--site.com",
            "xn--80ak6aa92e.com",
            "under_score.com",
            "сайт.com",
            "localhost",
            "example.c",
            "example.c0m",
            "1.2.3.4",
            "",
            ".com",
            "a..com",
            "www.mywebsite.com.",
            &format!("{}.com", "a".repeat(64)),
        ] {
            assert!(!is_valid_domain(bad), "{bad:?} should be invalid");
        }
        assert!(is_valid_domain(&format!("{}.com", "a".repeat(63))));
    }

    #[test]
    fn shared_labels_are_single_dns_labels() {
        for ok in ["secure", "sharedsslwebsite", "a-b", "abc123", "a"] {
            assert!(is_shared_label(ok), "{ok} should be a shared label");
        }
        for bad in [
            "sharedssl.website",
            "-abc",
            "abc-",
            "ABC",
            "a b",
            "",
            &"a".repeat(64),
        ] {
            assert!(
                !is_shared_label(bad),
                "{bad:?} should not be a shared label"
            );
        }
    }

    #[test]
    fn ipv4_octets_follow_the_original_regex() {
        for ok in [
            "1.2.3.4",
            "255.255.255.255",
            "0.0.0.0",
            "01.2.3.4",
            "199.249.250.9",
        ] {
            assert!(is_valid_ipv4(ok), "{ok} should be valid");
        }
        for bad in [
            "256.1.1.1",
            "348.2.3.2",
            "1.2.3",
            "1.2.3.4.5",
            "001.2.3.4",
            "1.2.3.-4",
            " 1.2.3.4",
            "1.2.3.4/24",
            "",
        ] {
            assert!(!is_valid_ipv4(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn origins_are_domains_or_ipv4_only() {
        assert!(is_valid_origin("myorigin.com"));
        assert!(is_valid_origin("1.2.3.4"));
        for bad in [
            "http://origin.com",
            "https://origin.com",
            "originwithslash.com/slash",
            "   spacesinorigin.com",
            "קאַץ.com",
            "invalid_origin_value",
            "not an origin",
            "::1",
        ] {
            assert!(!is_valid_origin(bad), "{bad:?} should be invalid");
        }
    }

    #[test]
    fn two_label_names_are_root() {
        assert!(is_root_domain("mywebsite.com"));
        assert!(is_root_domain("blog.com"));
        assert!(is_root_domain("website.io"));
    }

    #[test]
    fn country_second_level_names_are_root() {
        for root in [
            "mywebsite.co.uk",
            "mywebsite.co.au",
            "x.com.au",
            "x.gv.at",
            "x.ny.us",
            "x.co.in",
            "x.ac.nz",
            // Alternatives the original's multi-line strings broke.
            "x.co.an",
            "x.my.my",
            "x.qld.au",
            "x.police.uk",
            "x.sport.hu",
            "x.huissier-justice.fr",
            "x.or.us",
            "x.ia.us",
        ] {
            assert!(is_root_domain(root), "{root} should be root");
        }
    }

    #[test]
    fn other_names_are_not_root() {
        for not_root in [
            "www.mywebsite.com",
            "www.mywebsite.co.in",
            "blog.mywebsite.ac.nz",
            "www.mywebsite.co.uk",
            "x.example.com",
            "x.qld.us",
            "secure",
        ] {
            assert!(!is_root_domain(not_root), "{not_root} should not be root");
        }
    }

    #[test]
    fn root_domain_message_suggests_a_subdomain() {
        assert_eq!(
            root_domain_message("x.com"),
            "x.com is a root domain. Most DNS providers do not allow setting a CNAME on a root \
             domain. Please add a subdomain (e.g. www.x.com)"
        );
    }

    #[test]
    fn domain_param_has_the_three_messages() {
        let msg = |d: &str| domain_param(d).err().map(|e| e.to_string());
        assert_eq!(msg("www.abc.com"), None);
        assert_eq!(msg("secure"), None);
        assert_eq!(msg("ab"), Some("Domain ab is too short".to_owned()));
        let long = format!("{}.com", "a".repeat(250));
        assert_eq!(msg(&long), Some(format!("Domain {long} is too long")));
        assert_eq!(
            msg("too_long_name.com"),
            Some("Domain too_long_name.com is not valid".to_owned())
        );
        assert_eq!(msg(""), Some("Empty value not permitted".to_owned()));
        assert!(matches!(domain_param("x y"), Err(Error::BadRequest(_))));
    }
}
