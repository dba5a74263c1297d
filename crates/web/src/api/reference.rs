//! The API reference as a web page (`/api/v1/reference`): the OpenAPI document rendered on the
//! server into HTML — every operation by tag with its parameters, request body and responses,
//! and every schema with its fields. Nothing is fetched from a CDN and no script runs: the page
//! is the document itself, so it cannot disagree with `/api/v1/openapi.json`.

use super::openapi::{ApiDoc, PATH as DOCUMENT};
use crate::routes::{Routes, get};
use askama::Template;
use askama_web::WebTemplate;
use serde_json::Value;
use std::collections::BTreeMap;
use utoipa::OpenApi;

pub const PATH: &str = "/api/v1/reference";

pub fn routes() -> Routes {
    Routes::new().route(PATH, get(page))
}

pub struct Param {
    pub name: String,
    pub location: String,
    pub required: bool,
    pub kind: Kind,
    pub description: String,
}

pub struct Reply {
    pub status: String,
    pub description: String,
    pub content_type: String,
    pub kind: Option<Kind>,
}

pub struct Operation {
    pub method: String,
    pub path: String,
    pub anchor: String,
    pub description: String,
    pub params: Vec<Param>,
    pub body: Option<Kind>,
    pub replies: Vec<Reply>,
}

pub struct Group {
    pub tag: String,
    pub operations: Vec<Operation>,
}

pub struct Field {
    pub name: String,
    pub required: bool,
    pub kind: Kind,
    pub description: String,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub fields: Vec<Field>,
}

/// A type as the page shows it: words, and the schema to link to when it names one.
pub struct Kind {
    pub text: String,
    pub link: Option<String>,
}

#[derive(Template, WebTemplate)]
#[template(path = "api_reference.html")]
pub struct ReferencePage {
    pub title: String,
    pub version: String,
    pub description: String,
    pub document: &'static str,
    pub groups: Vec<Group>,
    pub schemas: Vec<Schema>,
}

async fn page() -> ReferencePage {
    let doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    reference(&doc)
}

fn text(v: &Value) -> String {
    v.as_str().unwrap_or_default().to_owned()
}

/// The words for a schema: `string`, `array of PbxUserOut`, `integer or null`, ….
fn kind(schema: &Value) -> Kind {
    if let Some(r) = schema.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r).to_owned();
        return Kind {
            link: Some(format!("schema-{name}")),
            text: name,
        };
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(options) = schema.get(key).and_then(Value::as_array) {
            let kinds: Vec<Kind> = options.iter().map(kind).collect();
            let link = kinds.iter().find_map(|k| k.link.clone());
            let words: Vec<String> = kinds.into_iter().map(|k| k.text).collect();
            return Kind {
                text: words.join(" or "),
                link,
            };
        }
    }
    let base = match schema.get("type") {
        Some(Value::Array(types)) => types.iter().map(text).collect::<Vec<_>>().join(" or "),
        Some(t) => text(t),
        None => "any".to_owned(),
    };
    if let Some(items) = schema.get("items") {
        let inner = kind(items);
        return Kind {
            text: base.replacen("array", &format!("array of {}", inner.text), 1),
            link: inner.link,
        };
    }
    if schema
        .get("additionalProperties")
        .is_some_and(Value::is_object)
    {
        let inner = kind(&schema["additionalProperties"]);
        return Kind {
            text: format!("map of {}", inner.text),
            link: inner.link,
        };
    }
    Kind {
        text: base,
        link: None,
    }
}

fn fields(schema: &Value) -> Vec<Field> {
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    schema
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .map(|(name, s)| Field {
                    name: name.clone(),
                    required: required.contains(&name.as_str()),
                    kind: kind(s),
                    description: text(&s["description"]),
                })
                .collect()
        })
        .unwrap_or_default()
}

fn operation(method: &str, path: &str, op: &Value) -> Operation {
    let params = op["parameters"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .map(|p| Param {
                    name: text(&p["name"]),
                    location: text(&p["in"]),
                    required: p["required"].as_bool().unwrap_or(false),
                    kind: kind(&p["schema"]),
                    description: text(&p["description"]),
                })
                .collect()
        })
        .unwrap_or_default();
    let body = op["requestBody"]["content"]
        .as_object()
        .and_then(|c| c.values().next())
        .map(|c| kind(&c["schema"]));
    let replies = op["responses"]
        .as_object()
        .map(|rs| {
            rs.iter()
                .map(|(status, r)| {
                    let content = r["content"].as_object().and_then(|c| c.iter().next());
                    Reply {
                        status: status.clone(),
                        description: text(&r["description"]),
                        content_type: content.map(|(t, _)| t.clone()).unwrap_or_default(),
                        kind: content
                            .filter(|(_, c)| c.get("schema").is_some())
                            .map(|(_, c)| kind(&c["schema"])),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    let summary = [text(&op["summary"]), text(&op["description"])]
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    Operation {
        method: method.to_uppercase(),
        path: path.to_owned(),
        anchor: format!(
            "{method}-{}",
            path.trim_start_matches('/')
                .replace(['/', '{', '}'], "-")
                .trim_end_matches('-')
        ),
        description: summary,
        params,
        body,
        replies,
    }
}

/// The page's view of the document.
pub fn reference(doc: &Value) -> ReferencePage {
    let mut groups: BTreeMap<String, Vec<Operation>> = BTreeMap::new();
    if let Some(paths) = doc["paths"].as_object() {
        for (path, item) in paths {
            for method in ["get", "post", "put", "patch", "delete"] {
                if let Some(op) = item.get(method) {
                    let tag = op["tags"][0].as_str().unwrap_or("other").to_owned();
                    groups
                        .entry(tag)
                        .or_default()
                        .push(operation(method, path, op));
                }
            }
        }
    }
    let schemas = doc["components"]["schemas"]
        .as_object()
        .map(|s| {
            s.iter()
                .map(|(name, schema)| Schema {
                    name: name.clone(),
                    description: text(&schema["description"]),
                    fields: fields(schema),
                })
                .collect()
        })
        .unwrap_or_default();
    ReferencePage {
        title: text(&doc["info"]["title"]),
        version: text(&doc["info"]["version"]),
        description: text(&doc["info"]["description"]),
        document: DOCUMENT,
        groups: groups
            .into_iter()
            .map(|(tag, operations)| Group { tag, operations })
            .collect(),
        schemas,
    }
}
