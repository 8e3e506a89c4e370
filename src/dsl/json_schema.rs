//! The JSON Schema of the DSL, for editors (`schemactl schema json-schema`).
//!
//! Written by hand next to [`super::spec`]; a test checks that both name the same keys.

use serde_json::{Value, json};

/// Returns the JSON Schema (draft 2020-12) of DSL version 1.
pub fn json_schema() -> Value {
    let name_list = json!({ "type": "array", "items": { "type": "string" } });
    let key_list = json!({
        "type": "array", "minItems": 1,
        "items": { "type": "string", "description": "column [COLLATE name] [ASC|DESC], or an expression" }
    });
    let check = json!({
        "oneOf": [
            { "type": "string", "description": "an SQL condition" },
            { "type": "object", "additionalProperties": false, "required": ["name", "expr"],
              "properties": {
                  "name": { "type": "string", "description": "the constraint's name: SQLite 3.53+ adds and drops a named table check in place (ALTER TABLE ... ADD/DROP CONSTRAINT), and drops a named column check in place, instead of rebuilding the table" },
                  "expr": { "type": "string" } } }
        ]
    });
    let action = json!({ "enum": ["no_action", "restrict", "set_null", "set_default", "cascade"] });
    let column = json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "type": { "type": "string", "description": "declared type, exactly as SQLite keeps it" },
            "renamed_from": { "type": "string" },
            "primary_key": { "type": "boolean" },
            "autoincrement": { "type": "boolean" },
            "not_null": {
                "description": "true, or { name: N } for CONSTRAINT N NOT NULL",
                "oneOf": [
                    { "type": "boolean" },
                    { "type": "object", "additionalProperties": false, "required": ["name"],
                      "properties": { "name": { "type": "string" } } }
                ]
            },
            "unique": { "type": "boolean" },
            "default": {
                "description": "a literal, or { sql: EXPR } for an expression such as CURRENT_TIMESTAMP, with an optional name (CONSTRAINT name DEFAULT ...)",
                "oneOf": [
                    { "type": ["string", "number", "boolean", "null"] },
                    { "type": "object", "additionalProperties": false, "required": ["sql"],
                      "properties": { "sql": { "type": ["string", "number", "boolean"] },
                                      "name": { "type": "string" } } }
                ]
            },
            "collate": { "type": "string" },
            "check": { "oneOf": [check.clone(), { "type": "array", "items": check.clone() }] },
            "generated": {
                "type": "object", "additionalProperties": false, "required": ["expr"],
                "properties": { "expr": { "type": "string" }, "stored": { "type": "boolean" } }
            }
        }
    });
    let index = json!({
        "type": "object", "additionalProperties": false, "required": ["columns"],
        "properties": {
            "columns": key_list,
            "unique": { "type": "boolean" },
            "where": { "type": "string" },
            "renamed_from": { "type": "string" }
        }
    });
    let table = json!({
        "type": "object", "additionalProperties": false,
        "properties": {
            "renamed_from": { "type": "string" },
            "columns": { "type": "object", "additionalProperties": column },
            "primary_key": { "oneOf": [
                key_list.clone(),
                { "type": "object", "additionalProperties": false, "required": ["columns"],
                  "properties": { "name": { "type": "string" }, "columns": key_list.clone(),
                                  "autoincrement": { "type": "boolean" } } }
            ] },
            "unique": { "type": "array", "items": { "oneOf": [
                key_list.clone(),
                { "type": "object", "additionalProperties": false, "required": ["columns"],
                  "properties": { "name": { "type": "string" }, "columns": key_list.clone() } }
            ] } },
            "checks": { "type": "array", "items": check },
            "foreign_keys": { "type": "array", "items": {
                "type": "object", "additionalProperties": false, "required": ["columns", "references"],
                "properties": {
                    "name": { "type": "string", "description": "the constraint's name: SQLite 3.53+ drops a named foreign key in place (ALTER TABLE ... DROP CONSTRAINT) instead of rebuilding the table" },
                    "columns": name_list.clone(),
                    "references": { "type": "string", "description": "table or table(column, ...)" },
                    "on_delete": action.clone(),
                    "on_update": action,
                    "deferrable": { "enum": ["no", "initially_immediate", "initially_deferred"] }
                }
            } },
            "indexes": { "type": "object", "additionalProperties": index },
            "strict": { "type": "boolean" },
            "without_rowid": { "type": "boolean" },
            "sql": { "type": "string", "description": "a verbatim CREATE TABLE, instead of columns and constraints" },
            "invariants": { "type": "object", "additionalProperties": { "type": "string" },
                            "description": "named SQL conditions every row must satisfy (schemactl check)" },
            "expires": { "type": "string", "description": "the column holding each row's expiry time (schemactl check): ISO-8601 text, a Julian day number or Unix seconds; other values are reported as not dates" },
            "retention": {
                "type": "object", "additionalProperties": false, "required": ["when"],
                "description": "which rows schemactl prune removes",
                "properties": { "when": { "type": "string", "description": "an SQL condition, true for the rows to remove" },
                                "archive": { "type": "boolean", "description": "archive before deleting (default true)" } }
            }
        }
    });
    let sql_object = |description: &str| {
        json!({
            "type": "object", "additionalProperties": false, "required": ["sql"],
            "properties": { "sql": { "type": "string", "description": description } }
        })
    };
    json!({
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": "https://schemactl.dev/schema/v1.json",
        "title": "schemactl schema file, DSL version 1",
        "type": "object", "additionalProperties": false, "required": ["schemactl"],
        "properties": {
            "schemactl": { "const": 1, "description": "DSL format version" },
            "version": { "type": "integer", "minimum": 1, "description": "schema version, bumped by the author" },
            "tables": { "type": "object", "additionalProperties": table },
            "views": { "type": "object", "additionalProperties": {
                "type": "object", "additionalProperties": false, "required": ["sql"],
                "properties": { "sql": { "type": "string", "description": "the SELECT statement" },
                                "columns": name_list }
            } },
            "triggers": { "type": "object", "additionalProperties": sql_object("the whole CREATE TRIGGER statement") },
            "virtual_tables": { "type": "object", "additionalProperties": sql_object("the whole CREATE VIRTUAL TABLE statement") },
            "queries": { "type": "object", "additionalProperties": { "type": "string" },
                         "description": "the application's named SELECTs (schemactl explain, check)" },
            "exclude": { "type": "array", "items": { "type": "string", "minLength": 1 },
                         "description": "tables (names or globs with * and ?) this schema does not own: never planned, dropped or reported" }
        }
    })
}
