//! `$filter`: a parser for the operators a connector needs (`eq`, `ne`, `startswith`,
//! `endswith`, `in`, `and`, `or`, `not`, `any`), validation against what a resource lets one
//! filter on (and what needs advanced queries), and evaluation over a [`Filterable`] object.

use serde_json::Value;

/// A literal value in a filter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Lit {
    Str(String),
    Bool(bool),
    Null,
    Num(f64),
}

/// One side of a comparison.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Operand {
    Prop(String),
    Lit(Lit),
}

/// A filter expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Expr {
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(Operand, String, Operand),
    Func(String, Vec<Operand>),
    In(Operand, Vec<Lit>),
    Any {
        collection: String,
        var: String,
        body: Box<Expr>,
    },
}

/// Why a filter was refused.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum FilterError {
    /// Syntax error: `Invalid filter clause`.
    Syntax(String),
    /// Property not filterable on this resource.
    Property(String),
    /// Needs `ConsistencyLevel: eventual` and `$count=true`.
    Advanced(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(f64),
    LParen,
    RParen,
    Comma,
    Colon,
}

fn tokenize(s: &str) -> Result<Vec<Tok>, FilterError> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            ' ' | '\t' | '\n' | '\r' => i += 1,
            '(' => {
                out.push(Tok::LParen);
                i += 1;
            }
            ')' => {
                out.push(Tok::RParen);
                i += 1;
            }
            ',' => {
                out.push(Tok::Comma);
                i += 1;
            }
            ':' => {
                out.push(Tok::Colon);
                i += 1;
            }
            '\'' => {
                let mut lit = String::new();
                i += 1;
                loop {
                    match chars.get(i) {
                        None => {
                            return Err(FilterError::Syntax("unterminated string literal".into()));
                        }
                        Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                            lit.push('\'');
                            i += 2;
                        }
                        Some('\'') => {
                            i += 1;
                            break;
                        }
                        Some(ch) => {
                            lit.push(*ch);
                            i += 1;
                        }
                    }
                }
                out.push(Tok::Str(lit));
            }
            _ => {
                let start = i;
                while i < chars.len()
                    && !matches!(chars[i], ' ' | '(' | ')' | ',' | ':' | '\'' | '\t')
                {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                // A GUID literal in a lambda (`x/skuId eq 6fd2c87f-...`) is a value, not a name.
                if is_guid(&word) {
                    out.push(Tok::Str(word));
                } else if let Ok(n) = word.parse::<f64>() {
                    out.push(Tok::Num(n));
                } else {
                    out.push(Tok::Ident(word));
                }
            }
        }
    }
    Ok(out)
}

fn is_guid(s: &str) -> bool {
    s.len() == 36 && uuid::Uuid::parse_str(s).is_ok()
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn keyword(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(w)) if w.eq_ignore_ascii_case(kw))
    }

    fn expect(&mut self, t: Tok) -> Result<(), FilterError> {
        match self.next() {
            Some(ref got) if *got == t => Ok(()),
            other => Err(FilterError::Syntax(format!(
                "expected {t:?}, found {other:?}"
            ))),
        }
    }

    fn or(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.and()?;
        while self.keyword("or") {
            self.pos += 1;
            let right = self.and()?;
            left = Expr::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Expr, FilterError> {
        let mut left = self.unary()?;
        while self.keyword("and") {
            self.pos += 1;
            let right = self.unary()?;
            left = Expr::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, FilterError> {
        if self.keyword("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Expr, FilterError> {
        match self.peek().cloned() {
            Some(Tok::LParen) => {
                self.pos += 1;
                let e = self.or()?;
                self.expect(Tok::RParen)?;
                Ok(e)
            }
            Some(Tok::Ident(name)) => {
                self.pos += 1;
                let lower = name.to_ascii_lowercase();
                if self.peek() == Some(&Tok::LParen) && !lower.contains('/') {
                    // function call: startswith(prop,'x')
                    self.pos += 1;
                    let mut args = Vec::new();
                    loop {
                        args.push(self.operand()?);
                        match self.next() {
                            Some(Tok::Comma) => continue,
                            Some(Tok::RParen) => break,
                            other => {
                                return Err(FilterError::Syntax(format!(
                                    "unexpected {other:?} in {name}()"
                                )));
                            }
                        }
                    }
                    return Ok(Expr::Func(lower, args));
                }
                if let Some(collection) = name
                    .strip_suffix("/any")
                    .or_else(|| name.strip_suffix("/ANY"))
                {
                    self.expect(Tok::LParen)?;
                    let var = match self.next() {
                        Some(Tok::Ident(v)) => v,
                        other => {
                            return Err(FilterError::Syntax(format!(
                                "expected a lambda variable, found {other:?}"
                            )));
                        }
                    };
                    self.expect(Tok::Colon)?;
                    let body = self.or()?;
                    self.expect(Tok::RParen)?;
                    return Ok(Expr::Any {
                        collection: collection.to_string(),
                        var,
                        body: Box::new(body),
                    });
                }
                let left = Operand::Prop(name);
                self.comparison(left)
            }
            Some(Tok::Str(_)) | Some(Tok::Num(_)) => {
                let left = self.operand()?;
                self.comparison(left)
            }
            other => Err(FilterError::Syntax(format!("unexpected {other:?}"))),
        }
    }

    fn comparison(&mut self, left: Operand) -> Result<Expr, FilterError> {
        let op = match self.next() {
            Some(Tok::Ident(op)) => op.to_ascii_lowercase(),
            other => {
                return Err(FilterError::Syntax(format!(
                    "expected an operator, found {other:?}"
                )));
            }
        };
        if op == "in" {
            self.expect(Tok::LParen)?;
            let mut items = Vec::new();
            loop {
                match self.operand()? {
                    Operand::Lit(l) => items.push(l),
                    Operand::Prop(p) => {
                        return Err(FilterError::Syntax(format!(
                            "expected a literal, found {p}"
                        )));
                    }
                }
                match self.next() {
                    Some(Tok::Comma) => continue,
                    Some(Tok::RParen) => break,
                    other => {
                        return Err(FilterError::Syntax(format!(
                            "unexpected {other:?} in 'in' list"
                        )));
                    }
                }
            }
            return Ok(Expr::In(left, items));
        }
        if !matches!(op.as_str(), "eq" | "ne" | "gt" | "ge" | "lt" | "le") {
            return Err(FilterError::Syntax(format!("unknown operator '{op}'")));
        }
        let right = self.operand()?;
        Ok(Expr::Cmp(left, op, right))
    }

    fn operand(&mut self) -> Result<Operand, FilterError> {
        match self.next() {
            Some(Tok::Str(s)) => Ok(Operand::Lit(Lit::Str(s))),
            Some(Tok::Num(n)) => Ok(Operand::Lit(Lit::Num(n))),
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("true") => {
                Ok(Operand::Lit(Lit::Bool(true)))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("false") => {
                Ok(Operand::Lit(Lit::Bool(false)))
            }
            Some(Tok::Ident(w)) if w.eq_ignore_ascii_case("null") => Ok(Operand::Lit(Lit::Null)),
            Some(Tok::Ident(w)) => Ok(Operand::Prop(w)),
            other => Err(FilterError::Syntax(format!(
                "expected a value, found {other:?}"
            ))),
        }
    }
}

/// Parses a `$filter` expression.
pub(crate) fn parse_filter(s: &str) -> Result<Expr, FilterError> {
    let toks = tokenize(s)?;
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(FilterError::Syntax(format!(
            "unexpected {:?}",
            p.toks[p.pos]
        )));
    }
    Ok(e)
}

/// Checks a parsed filter against the filterable properties of a resource. `advanced` tells
/// whether the request is an advanced query (`ConsistencyLevel: eventual` + `$count=true`).
pub(crate) fn validate(
    e: &Expr,
    filterable: &[&str],
    collections: &[&str],
    advanced: bool,
) -> Result<(), FilterError> {
    fn prop_ok(p: &str, filterable: &[&str], lambda: Option<&str>) -> Result<(), FilterError> {
        if let Some(var) = lambda
            && (p == var || p.starts_with(&format!("{var}/")))
        {
            return Ok(());
        }
        if filterable.iter().any(|f| f.eq_ignore_ascii_case(p)) {
            Ok(())
        } else {
            Err(FilterError::Property(p.to_string()))
        }
    }
    fn walk(
        e: &Expr,
        f: &[&str],
        c: &[&str],
        adv: bool,
        lambda: Option<&str>,
    ) -> Result<(), FilterError> {
        match e {
            Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, f, c, adv, lambda)?;
                walk(b, f, c, adv, lambda)
            }
            Expr::Not(a) => {
                if !adv {
                    return Err(FilterError::Advanced("not".into()));
                }
                walk(a, f, c, adv, lambda)
            }
            Expr::Cmp(l, op, r) => {
                if op == "ne" && !adv {
                    return Err(FilterError::Advanced("ne".into()));
                }
                for side in [l, r] {
                    if let Operand::Prop(p) = side {
                        prop_ok(p, f, lambda)?;
                    }
                }
                Ok(())
            }
            Expr::Func(name, args) => {
                match name.as_str() {
                    "startswith" => {}
                    "endswith" if adv => {}
                    "endswith" => return Err(FilterError::Advanced("endsWith".into())),
                    other => {
                        return Err(FilterError::Syntax(format!(
                            "unsupported function '{other}'"
                        )));
                    }
                }
                if args.len() != 2 {
                    return Err(FilterError::Syntax(format!("{name} takes two arguments")));
                }
                if let Operand::Prop(p) = &args[0] {
                    prop_ok(p, f, lambda)?;
                }
                Ok(())
            }
            Expr::In(l, _) => {
                if let Operand::Prop(p) = l {
                    prop_ok(p, f, lambda)?;
                }
                Ok(())
            }
            Expr::Any {
                collection,
                var,
                body,
            } => {
                if !c.iter().any(|x| x.eq_ignore_ascii_case(collection)) {
                    return Err(FilterError::Property(collection.clone()));
                }
                walk(body, f, c, adv, Some(var))
            }
        }
    }
    walk(e, filterable, collections, advanced, None)
}

/// Something a filter can be evaluated against.
pub(crate) trait Filterable {
    /// The value of a (top-level) property.
    fn prop(&self, name: &str) -> Value;
    /// The elements of a collection property (for `any`).
    fn collection(&self, name: &str) -> Vec<Value>;
}

fn lit_value(l: &Lit) -> Value {
    match l {
        Lit::Str(s) => Value::from(s.as_str()),
        Lit::Bool(b) => Value::Bool(*b),
        Lit::Null => Value::Null,
        Lit::Num(n) => serde_json::Number::from_f64(*n)
            .map(Value::Number)
            .unwrap_or(Value::Null),
    }
}

fn resolve(o: &Operand, t: &dyn Filterable, lambda: Option<(&str, &Value)>) -> Value {
    match o {
        Operand::Lit(l) => lit_value(l),
        Operand::Prop(p) => {
            if let Some((var, v)) = lambda {
                if p == var {
                    return v.clone();
                }
                if let Some(rest) = p.strip_prefix(&format!("{var}/")) {
                    return v
                        .as_object()
                        .and_then(|m| m.iter().find(|(k, _)| k.eq_ignore_ascii_case(rest)))
                        .map(|(_, x)| x.clone())
                        .unwrap_or(Value::Null);
                }
            }
            t.prop(p)
        }
    }
}

fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.eq_ignore_ascii_case(y),
        (Value::Number(x), Value::Number(y)) => x.as_f64() == y.as_f64(),
        _ => a == b,
    }
}

fn order(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        _ => None,
    }
}

/// Evaluates a filter against an object.
pub(crate) fn eval(e: &Expr, t: &dyn Filterable) -> bool {
    eval_in(e, t, None)
}

fn eval_in(e: &Expr, t: &dyn Filterable, lambda: Option<(&str, &Value)>) -> bool {
    match e {
        Expr::And(a, b) => eval_in(a, t, lambda) && eval_in(b, t, lambda),
        Expr::Or(a, b) => eval_in(a, t, lambda) || eval_in(b, t, lambda),
        Expr::Not(a) => !eval_in(a, t, lambda),
        Expr::Cmp(l, op, r) => {
            let (a, b) = (resolve(l, t, lambda), resolve(r, t, lambda));
            match op.as_str() {
                "eq" => equal(&a, &b),
                "ne" => !equal(&a, &b),
                "gt" => order(&a, &b) == Some(std::cmp::Ordering::Greater),
                "ge" => matches!(
                    order(&a, &b),
                    Some(std::cmp::Ordering::Greater | std::cmp::Ordering::Equal)
                ),
                "lt" => order(&a, &b) == Some(std::cmp::Ordering::Less),
                "le" => matches!(
                    order(&a, &b),
                    Some(std::cmp::Ordering::Less | std::cmp::Ordering::Equal)
                ),
                _ => false,
            }
        }
        Expr::Func(name, args) => {
            let (Some(a), Some(b)) = (args.first(), args.get(1)) else {
                return false;
            };
            let (a, b) = (resolve(a, t, lambda), resolve(b, t, lambda));
            let (Some(a), Some(b)) = (a.as_str(), b.as_str()) else {
                return false;
            };
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            match name.as_str() {
                "startswith" => a.starts_with(&b),
                "endswith" => a.ends_with(&b),
                _ => false,
            }
        }
        Expr::In(l, items) => {
            let a = resolve(l, t, lambda);
            items.iter().any(|i| equal(&a, &lit_value(i)))
        }
        Expr::Any {
            collection,
            var,
            body,
        } => t
            .collection(collection)
            .iter()
            .any(|item| eval_in(body, t, Some((var, item)))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    struct Obj(Value);
    impl Filterable for Obj {
        fn prop(&self, name: &str) -> Value {
            self.0.get(name).cloned().unwrap_or(Value::Null)
        }
        fn collection(&self, name: &str) -> Vec<Value> {
            self.0
                .get(name)
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default()
        }
    }

    fn check(filter: &str, v: Value) -> bool {
        eval(&parse_filter(filter).unwrap(), &Obj(v))
    }

    #[test]
    fn evaluates_the_operators_connectors_use() {
        let adele = json!({"userPrincipalName": "AdeleV@contoso.example", "displayName": "Adele Vance",
            "accountEnabled": true, "userType": "Member",
            "assignedPlans": [{"servicePlanId": "4828c8ec-dc2e-4779-b502-87ac9ce28ab7", "capabilityStatus": "Enabled"}],
            "groupTypes": ["Unified"]});
        assert!(check(
            "userPrincipalName eq 'adelev@contoso.example'",
            adele.clone()
        ));
        assert!(check(
            "startswith(displayName,'ade') and accountEnabled eq true",
            adele.clone()
        ));
        assert!(check(
            "accountEnabled eq true and userType eq 'Member'",
            adele.clone()
        ));
        assert!(!check(
            "userType eq 'Guest' or accountEnabled eq false",
            adele.clone()
        ));
        assert!(check(
            "assignedPlans/any(x:x/servicePlanId eq 4828c8ec-dc2e-4779-b502-87ac9ce28ab7)",
            adele.clone()
        ));
        assert!(check("groupTypes/any(c:c eq 'Unified')", adele.clone()));
        assert!(check(
            "displayName in ('Bob', 'Adele Vance')",
            adele.clone()
        ));
        assert!(check(
            "endswith(userPrincipalName,'@contoso.example')",
            adele.clone()
        ));
        assert!(check("not (userType eq 'Guest')", adele.clone()));
        assert!(check(
            "displayName eq 'O''Brien'",
            json!({"displayName": "O'Brien"})
        ));
    }

    #[test]
    fn validation_rejects_unknown_properties_and_advanced_operators() {
        let e = parse_filter("foo eq 'x'").unwrap();
        assert_eq!(
            validate(&e, &["displayName"], &[], false),
            Err(FilterError::Property("foo".into()))
        );
        let e = parse_filter("userType ne 'Guest'").unwrap();
        assert!(matches!(
            validate(&e, &["userType"], &[], false),
            Err(FilterError::Advanced(_))
        ));
        assert!(validate(&e, &["userType"], &[], true).is_ok());
        assert!(parse_filter("displayName eq").is_err());
        assert!(parse_filter("startswith(displayName,'a'").is_err());
    }
}
