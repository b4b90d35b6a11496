//! A question's body for a server that wants its own: a JSON text in which `${model}`,
//! `${max_tokens}` and `${prompt}` are replaced by JSON values (the model and the prompt as JSON
//! strings, quotes included; the token count as a number), e.g.
//! `{"model": ${model}, "stream": true, "max_tokens": ${max_tokens},
//! "messages": [{"role": "user", "content": ${prompt}}]}`.

use std::fmt;

use super::json_string;

/// The placeholders a template may hold.
pub const PLACEHOLDERS: [&str; 3] = ["${model}", "${max_tokens}", "${prompt}"];

/// The body `template` gives for `model`, `max_tokens` and a prompt of `prompt_bytes` bytes.
pub fn fill(template: &str, model: &str, max_tokens: u32, prompt_bytes: usize) -> String {
    template
        .replace("${model}", &json_string(model))
        .replace("${max_tokens}", &max_tokens.to_string())
        .replace(
            "${prompt}",
            &json_string(&super::question_text(prompt_bytes)),
        )
}

/// A template whose body is not a JSON object.
#[derive(Debug)]
pub struct TemplateError(String);

impl fmt::Display for TemplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TemplateError {}

/// Checks that `template`, filled, is a JSON object (placeholders are `${model}`,
/// `${max_tokens}` and `${prompt}`, each without quotes around it).
pub fn check(template: &str) -> Result<(), TemplateError> {
    let body = fill(template, "model", 1, 1);
    match serde_json::from_str::<serde_json::Value>(&body) {
        Ok(v) if v.is_object() => Ok(()),
        Ok(_) => Err(TemplateError("the body must be a JSON object".to_owned())),
        Err(e) => Err(TemplateError(format!(
            "the body is not JSON once {} are replaced by JSON values (write them without \
             quotes): {e}",
            PLACEHOLDERS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const VLLM: &str = r#"{"model": ${model}, "stream": true, "max_tokens": ${max_tokens},
        "messages": [{"role": "user", "content": ${prompt}}], "stream_options": {"include_usage": true}}"#;

    #[test]
    fn placeholders_become_json_values() {
        let body = fill(VLLM, "m \"q\"", 7, 30);
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["model"], "m \"q\"");
        assert_eq!(v["max_tokens"], 7);
        assert_eq!(v["messages"][0]["content"].as_str().unwrap().len(), 30);
        assert_eq!(v["stream_options"]["include_usage"], true);
        assert!(check(VLLM).is_ok());
    }

    #[test]
    fn a_body_that_is_not_a_json_object_is_refused() {
        let quoted = r#"{"model": "${model}"}"#;
        let err = check(quoted).unwrap_err().to_string();
        assert!(err.contains("without quotes"), "{err}");
        assert!(check("[${max_tokens}]")
            .unwrap_err()
            .to_string()
            .contains("object"));
        assert!(check(r#"{"n": ${max_tokens}}"#).is_ok());
    }
}
