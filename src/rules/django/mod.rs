//! Django rules (rules.md §2, OTEL008–OTEL010): where `DjangoInstrumentor` runs relative to
//! the handler that loads the middleware, `runserver`'s autoreloader, and the settings module
//! zero-code instrumentation needs before Python starts.
//!
//! The helpers below read a launcher as a Django command: `python manage.py <command>`,
//! `./manage.py <command>`, `django-admin <command>`, `python -m django <command>`, or a
//! WSGI/ASGI server serving `<pkg>.wsgi` / `<pkg>.asgi`.

pub mod django_instrument_after_app_load;
pub mod django_runserver_autoreload;
pub mod django_settings_module_missing;

use crate::launch::{basename, normalize, LaunchFacts, LaunchKind, Launcher, Token};
use crate::workspace::{FileSummary, Workspace};
use std::path::Path;

/// A Django management command run by a launcher.
pub struct Management<'l> {
    /// The `manage.py` word, when the command runs a manage script (not `django-admin`).
    pub script: Option<&'l Token>,
    /// Index in `argv` of the command word (`runserver`, `migrate`).
    pub command: usize,
}

/// The management command a launcher runs, if it runs one.
pub fn management(l: &Launcher) -> Option<Management<'_>> {
    let prog = l.program()?;
    let is_manage = |t: &Token| !t.dynamic && basename(&t.text) == "manage.py";
    if prog == "manage.py" {
        return Some(Management {
            script: l.argv.first(),
            command: 1,
        });
    }
    if prog == "django-admin" || prog == "django-admin.py" {
        return Some(Management {
            script: None,
            command: 1,
        });
    }
    if !normalize::is_python(&prog) {
        return None;
    }
    let mut i = 1;
    while let Some(t) = l.argv.get(i) {
        if t.text == "-m" {
            return (l.argv.get(i + 1).is_some_and(|m| m.text == "django")).then_some(Management {
                script: None,
                command: i + 2,
            });
        }
        if t.text == "-c" {
            return None;
        }
        if !t.text.starts_with('-') {
            return is_manage(t).then_some(Management {
                script: Some(t),
                command: i + 1,
            });
        }
        i += if matches!(t.text.as_str(), "-X" | "-W") {
            2
        } else {
            1
        };
    }
    None
}

/// Whether a launcher is a command line that can start the service (not an image build or
/// CI step).
pub fn is_service(l: &Launcher) -> bool {
    !matches!(
        l.kind,
        LaunchKind::Run | LaunchKind::Ci | LaunchKind::Imported
    )
}

/// The Python files a launcher's `manage.py` is, by the launch association of §0.3; failing
/// that, the workspace's only `manage.py`.
pub fn manage_scripts<'w>(
    ws: &'w Workspace,
    file: Option<&Path>,
    l: &Launcher,
    facts: &LaunchFacts,
) -> Vec<(&'w Path, &'w FileSummary)> {
    let named = file
        .zip(crate::launch::summary::launch_ref(l, facts))
        .map(|(p, r)| ws.targets_of(p, &r))
        .unwrap_or_default();
    let named: Vec<_> = named
        .into_iter()
        .filter(|(p, _)| p.file_name().is_some_and(|n| n == "manage.py"))
        .collect();
    if !named.is_empty() {
        return named;
    }
    let all = ws.files_named("manage.py");
    if all.len() == 1 {
        all
    } else {
        Vec::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::language::Language;

    fn command_of(lang: Language, src: &str) -> Option<String> {
        let f = crate::engine::parse(lang, src.to_string());
        let l = f.launch().launchers.first()?;
        let m = management(l)?;
        Some(l.argv.get(m.command)?.text.clone())
    }

    #[test]
    fn management_commands() {
        let sh = Language::Shell;
        assert_eq!(
            command_of(sh, "python manage.py runserver 0.0.0.0:8000\n").as_deref(),
            Some("runserver")
        );
        assert_eq!(
            command_of(sh, "python3 -u ./app/manage.py migrate\n").as_deref(),
            Some("migrate")
        );
        assert_eq!(
            command_of(sh, "./manage.py runserver\n").as_deref(),
            Some("runserver")
        );
        assert_eq!(
            command_of(sh, "django-admin runserver\n").as_deref(),
            Some("runserver")
        );
        assert_eq!(
            command_of(sh, "python -m django runserver\n").as_deref(),
            Some("runserver")
        );
        assert_eq!(command_of(sh, "python app.py runserver\n"), None);
        assert_eq!(command_of(sh, "python -m flask run\n"), None);
    }
}
