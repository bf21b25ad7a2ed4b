//! `Plugin::load("libx.so")` with the file in the current folder loads that file: the
//! pre-flight check and `dlopen` look at the same file. (Alone in its test binary: it
//! changes the current folder.)

mod common;

use oplink_host::Plugin;

#[test]
fn a_bare_file_name_is_the_file_in_the_current_folder() {
    let path = common::plugin_path("threshold");
    std::env::set_current_dir(path.parent().unwrap()).unwrap();
    let name = path.file_name().unwrap();
    let plugin = Plugin::load(name).unwrap();
    assert_eq!(plugin.path(), path.as_path());
    assert!(plugin.operator("threshold").is_some());
    let missing = Plugin::load("libno_such_plugin.so").unwrap_err();
    // The file looked for is named where the loader looked (here, not on its search path),
    // once.
    assert_eq!(
        missing.to_string(),
        format!(
            "cannot load `{}` as a shared library: cannot open shared object file: No such file or directory",
            path.parent()
                .unwrap()
                .join("libno_such_plugin.so")
                .display()
        ),
    );
}
