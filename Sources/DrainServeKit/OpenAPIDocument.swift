import DrainCore

/// The API's OpenAPI 3.1 document, written by hand once and served as is at
/// /api/v1/openapi.json. Hand-written rather than generated: the API is nine operations over
/// the same `Admin` calls as the CLI, and a generator would add a build plugin and a second
/// model of types the kit already has. The tests run schemathesis against this document.
enum OpenAPIDocument {
    static let json = #"""
{
  "openapi": "3.1.0",
  "info": {
    "title": "LogDrain API",
    "version": "1.0.0",
    "description": "Manage an account's log drains. Authenticate with `Authorization: Bearer TOKEN` (a token from `drain-admin token create ACCOUNT EMAIL`). A token sees only its own account; a member may read, only an admin may change."
  },
  "servers": [{"url": "/"}],
  "security": [{"bearer": []}],
  "paths": {
    "/api/v1/drains": {
      "get": {
        "operationId": "listDrains",
        "summary": "The account's drains",
        "responses": {
          "200": {"description": "Every drain of the account", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Drain"}}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      },
      "post": {
        "operationId": "createDrain",
        "summary": "Create a drain (a signed test line is sent first unless skip_test)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/NewDrain"}}}},
        "responses": {
          "201": {
            "description": "The saved drain; `secret` only when generated",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Drain"}}},
            "links": {
              "GetDrain": {"operationId": "getDrain", "parameters": {"id": "$response.body#/id"}},
              "UpdateDrain": {"operationId": "updateDrain", "parameters": {"id": "$response.body#/id"}},
              "EnableDrain": {"operationId": "enableDrain", "parameters": {"id": "$response.body#/id"}},
              "DisableDrain": {"operationId": "disableDrain", "parameters": {"id": "$response.body#/id"}},
              "TestDrain": {"operationId": "testDrain", "parameters": {"id": "$response.body#/id"}},
              "DeleteDrain": {"operationId": "deleteDrain", "parameters": {"id": "$response.body#/id"}}
            }
          },
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/TestFailed"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/drains/{id}": {
      "parameters": [{"$ref": "#/components/parameters/DrainID"}],
      "get": {
        "operationId": "getDrain",
        "responses": {
          "200": {"description": "The drain", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Drain"}}}},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      },
      "patch": {
        "operationId": "updateDrain",
        "summary": "Change a drain (a new url is tested first unless skip_test)",
        "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/DrainChange"}}}},
        "responses": {
          "200": {"description": "The changed drain", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Drain"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/TestFailed"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      },
      "delete": {
        "operationId": "deleteDrain",
        "responses": {
          "204": {"description": "Deleted"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/drains/{id}/enable": {
      "parameters": [{"$ref": "#/components/parameters/DrainID"}],
      "post": {
        "operationId": "enableDrain",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "properties": {"skip_backlog": {"type": ["boolean", "null"], "description": "Deliver only from the last \#(Limits.recentWindowSeconds) seconds and drop any pending batch"}}}}}},
        "responses": {
          "200": {"description": "The enabled drain", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Drain"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "409": {"$ref": "#/components/responses/Conflict"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/drains/{id}/disable": {
      "parameters": [{"$ref": "#/components/parameters/DrainID"}],
      "post": {
        "operationId": "disableDrain",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
        "responses": {
          "200": {"description": "The disabled drain", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Drain"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    },
    "/api/v1/drains/{id}/test": {
      "parameters": [{"$ref": "#/components/parameters/DrainID"}],
      "post": {
        "operationId": "testDrain",
        "summary": "Send one signed test line to the saved endpoint; changes nothing",
        "requestBody": {"required": false, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Empty"}}}},
        "responses": {
          "200": {"description": "The endpoint answered 2xx", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TestResult"}}}},
          "400": {"$ref": "#/components/responses/BadRequest"},
          "401": {"$ref": "#/components/responses/Unauthorized"},
          "403": {"$ref": "#/components/responses/Forbidden"},
          "404": {"$ref": "#/components/responses/NotFound"},
          "413": {"$ref": "#/components/responses/TooLarge"},
          "422": {"$ref": "#/components/responses/TestFailed"},
          "503": {"$ref": "#/components/responses/Unavailable"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
    "parameters": {
      "DrainID": {"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "description": "The drain's id (a UUID)"}
    },
    "schemas": {
      "Drain": {
        "type": "object",
        "required": ["id", "account", "name", "url", "enabled", "disabled_reason", "sampling_rate", "consecutive_failures", "last_success_at", "last_failure_at", "last_error", "created_at"],
        "properties": {
          "id": {"type": "string", "format": "uuid"},
          "account": {"type": "string"},
          "name": {"type": "string"},
          "url": {"type": "string", "description": "Redacted: userinfo, query values and token-like path segments are ***"},
          "enabled": {"type": "boolean"},
          "disabled_reason": {"type": ["string", "null"], "enum": ["manual", "failures", null]},
          "sampling_rate": {"type": "integer", "minimum": \#(Limits.samplingRates.lowerBound), "maximum": \#(Limits.maxSamplingRate)},
          "consecutive_failures": {"type": "integer", "minimum": 0},
          "last_success_at": {"type": ["string", "null"], "format": "date-time"},
          "last_failure_at": {"type": ["string", "null"], "format": "date-time"},
          "last_error": {"type": ["string", "null"]},
          "created_at": {"type": "string", "format": "date-time"},
          "delivered_lines": {"type": "integer", "minimum": 0},
          "lag_seconds": {"type": ["number", "null"], "description": "Age of the oldest undelivered line; null when caught up"},
          "pending_delivery_id": {"type": ["string", "null"]},
          "gap": {"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Gap"}]},
          "secret": {"type": "string", "description": "Only in the answer to a create with generate_secret; shown once"}
        }
      },
      "Gap": {
        "type": "object",
        "required": ["reason", "lines", "last_at", "message"],
        "properties": {"reason": {"type": "string"}, "lines": {"type": "integer"}, "last_at": {"type": ["string", "null"]}, "message": {"type": ["string", "null"]}}
      },
      "NewDrain": {
        "type": "object",
        "additionalProperties": false,
        "required": ["name", "url"],
        "description": "Exactly one of `secret` and `generate_secret: true`. A null field counts as absent.",
        "oneOf": [
          {"required": ["secret"], "properties": {"secret": {"type": "string"}, "generate_secret": {"enum": [false, null]}}},
          {"required": ["generate_secret"], "properties": {"generate_secret": {"const": true}, "secret": {"type": "null"}}}
        ],
        "properties": {
          "name": {"type": "string", "minLength": 1, "maxLength": 100},
          "url": {"type": "string", "description": "An https:// URL with a host"},
          "secret": {"type": ["string", "null"], "minLength": 64},
          "generate_secret": {"type": ["boolean", "null"]},
          "sampling_rate": {"type": ["integer", "null"], "minimum": \#(Limits.samplingRates.lowerBound), "maximum": \#(Limits.maxSamplingRate), "default": \#(Limits.defaultSamplingRate)},
          "skip_test": {"type": ["boolean", "null"], "default": false},
          "disabled": {"type": ["boolean", "null"], "default": false}
        }
      },
      "DrainChange": {
        "type": "object",
        "additionalProperties": false,
        "description": "At least one of name, url, sampling_rate and secret. A null field counts as absent.",
        "properties": {
          "name": {"type": ["string", "null"], "minLength": 1, "maxLength": 100},
          "url": {"type": ["string", "null"]},
          "sampling_rate": {"type": ["integer", "null"], "minimum": \#(Limits.samplingRates.lowerBound), "maximum": \#(Limits.maxSamplingRate)},
          "secret": {"type": ["string", "null"], "minLength": 64},
          "skip_test": {"type": ["boolean", "null"], "default": false}
        }
      },
      "Empty": {"type": "object", "additionalProperties": false},
      "TestResult": {
        "type": "object",
        "required": ["ok", "message"],
        "properties": {"ok": {"type": "boolean"}, "message": {"type": "string"}}
      },
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {
          "error": {
            "type": "object",
            "required": ["code", "message", "field"],
            "properties": {
              "code": {"type": "string", "enum": ["invalid", "unauthorized", "forbidden", "not_found", "conflict", "endpoint_test_failed", "too_large", "unavailable", "internal"]},
              "message": {"type": "string"},
              "field": {"type": ["string", "null"], "description": "The request field at fault (400 only)"}
            }
          }
        }
      }
    },
    "responses": {
      "BadRequest": {"description": "Bad input; `field` names it", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unauthorized": {"description": "No token, or an unknown or revoked one", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Forbidden": {"description": "A member (not an admin) tried to change something", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "NotFound": {"description": "No such drain in this account", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Conflict": {"description": "Another drain of the account is enabled", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TooLarge": {"description": "The body is larger than 64 KiB", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "TestFailed": {"description": "The endpoint's test delivery failed; nothing was saved", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}},
      "Unavailable": {"description": "The database is unavailable", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    }
  }
}
"""#
}
