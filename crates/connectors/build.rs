//! Embeds the definition folders (`providers/`, `connectors/<key>/connector.yaml` and its optional
//! `schemas.yaml`) in the binary, so ferry runs from one file; the list is regenerated whenever a
//! definition changes.

use std::fs;
use std::path::{Path, PathBuf};

fn yaml_files(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = entries.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for path in entries {
        if path.is_dir() && depth > 0 {
            yaml_files(&path, depth - 1, out);
        } else if path.extension().is_some_and(|ext| ext == "yaml") {
            out.push(path);
        }
    }
}

fn main() {
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("../..");
    let root = root.canonicalize().expect("workspace root");
    let mut generated = String::new();
    for (name, dir, depth) in [
        ("PROVIDERS", "providers", 0),
        ("CONNECTORS", "connectors", 1),
    ] {
        let base = root.join(dir);
        println!("cargo:rerun-if-changed={}", base.display());
        let mut files = Vec::new();
        yaml_files(&base, depth, &mut files);
        generated.push_str(&format!("pub static {name}: &[(&str, &str)] = &[\n"));
        for file in files {
            if depth > 0
                && file
                    .file_name()
                    .is_some_and(|n| n != "connector.yaml" && n != "schemas.yaml")
            {
                continue;
            }
            println!("cargo:rerun-if-changed={}", file.display());
            let relative = file.strip_prefix(&root).unwrap().display().to_string();
            generated.push_str(&format!(
                "    ({relative:?}, include_str!({:?})),\n",
                file.display().to_string()
            ));
        }
        generated.push_str("];\n");
        if let Ok(entries) = fs::read_dir(&base) {
            for entry in entries.filter_map(Result::ok) {
                println!("cargo:rerun-if-changed={}", entry.path().display());
            }
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap()).join("embedded_definitions.rs");
    fs::write(out, generated).unwrap();
}
