use super::*;

fn required(name: &str, methods: &[MethodInfo]) -> RequiredService {
    RequiredService {
        name: name.to_owned(),
        fingerprint: service_fingerprint(name, methods),
        methods: methods
            .iter()
            .map(|m| RequiredMethod {
                name: m.name.to_owned(),
                signature: m.signature.to_owned(),
                fingerprint: m.fingerprint,
            })
            .collect::<Vec<_>>()
            .into(),
    }
}

#[oplink::host_callbacks(name = "Lookup")]
trait Lookup {
    fn get(&self, key: &str) -> Option<String>;
    fn count(&self) -> u64;
}

struct Empty;

impl Lookup for Empty {
    fn get(&self, _: &str) -> Option<String> {
        None
    }
    fn count(&self) -> u64 {
        0
    }
}

#[test]
fn differences_name_the_method() {
    let host = <dyn Lookup>::METHODS;
    let same = required("Lookup", host).methods.to_vec();
    assert_eq!(difference(&same, host), None);
    assert_eq!(difference(&same[..1], host), None, "a prefix is fine");
    let mut changed = same.clone();
    changed[1].signature = "fn count(&self) -> i64".to_owned();
    changed[1].fingerprint ^= 1;
    assert_eq!(
        difference(&changed, host).unwrap(),
        "method `count` differs: the plugin expects `fn count(&self) -> i64`, the host has `fn count(&self) -> u64`"
    );
    // Paths are left out where the types differ without them.
    changed[1].signature = "fn count(&self) -> oplink::Result<std::primitive::i64>".to_owned();
    assert_eq!(
        difference(&changed, host).unwrap(),
        "method `count` differs: the plugin expects `fn count(&self) -> Result<i64>`, the host has `fn count(&self) -> u64`"
    );
    assert_eq!(
        unqualified("fn f(&self, a: &std::string::String) -> oplink::Result<Vec<u8>>"),
        "fn f(&self, a: &String) -> Result<Vec<u8>>"
    );
    let mut encoding = same.clone();
    encoding[0].fingerprint ^= 1;
    assert_eq!(
        difference(&encoding, host).unwrap(),
        format!(
            "method `get` differs in what crosses, though it reads `fn get(&self, key: &str) -> Option<String>` on both sides (fingerprint {:#018x} in the plugin, {:#018x} in the host): a `Wire` type's encoding (its `SCHEMA`) or a type's size differs, or a C library's fingerprint was not copied from the host's `oplink.h`",
            encoding[0].fingerprint, host[0].fingerprint
        )
    );
    let swapped = vec![same[1].clone(), same[0].clone()];
    assert_eq!(
        difference(&swapped, host).unwrap(),
        "method `count` is at position 2 in the host's trait but at 1 in the plugin's; methods may only be added at the end"
    );
    let mut extra = same;
    extra.push(RequiredMethod {
        name: "scan".to_owned(),
        signature: "fn scan(&self) -> u64".to_owned(),
        fingerprint: 9,
    });
    assert_eq!(
        difference(&extra, host).unwrap(),
        "method `scan` is missing: the plugin expects `fn scan(&self) -> u64`, the host has no method `scan`"
    );
}

#[test]
fn a_mismatched_standard_service_is_refused_naming_the_method() {
    let host = Host::default();
    let mut log = required(<dyn Log>::NAME, <dyn Log>::METHODS);
    assert!(
        host.check_services("op", std::slice::from_ref(&log))
            .is_ok()
    );
    let mut methods = log.methods.to_vec();
    methods[2].signature = "fn message(&self, level: u8, text: &str)".to_owned();
    methods[2].fingerprint ^= 1;
    log.methods = methods.into();
    let err = host.check_services("op", &[log]).unwrap_err();
    assert!(matches!(err, Error::ServiceMismatch { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "operator `op` was built against another version of the host service `oplink.Log`: method `message` differs: the plugin expects `fn message(&self, level: u8, text: &str)`, the host has `fn message(&self, level: u8, target: &str, text: &str)`; build the plugin and the host against one version of the service's trait (a host's may have more methods, appended at the end, than the plugin's)"
    );
}

/// A plugin built against a newer version of a service than the host's (one method more)
/// is refused naming the method the host lacks.
#[test]
fn a_service_method_the_host_lacks_is_refused_naming_it() {
    let host = Host::default();
    let mut clock = required(<dyn Clock>::NAME, <dyn Clock>::METHODS);
    let mut methods = clock.methods.to_vec();
    methods.push(RequiredMethod {
        name: "zone".to_owned(),
        signature: "fn zone(&self) -> String".to_owned(),
        fingerprint: 1,
    });
    clock.methods = methods.into();
    let err = host.check_services("op", &[clock]).unwrap_err();
    assert!(matches!(err, Error::ServiceMismatch { .. }), "{err:?}");
    assert_eq!(
        err.to_string(),
        "operator `op` was built against another version of the host service `oplink.Clock`: method `zone` is missing: the plugin expects `fn zone(&self) -> String`, the host has no method `zone`; build the plugin and the host against one version of the service's trait (a host's may have more methods, appended at the end, than the plugin's)"
    );
}

#[test]
fn lookups_check_names_and_fingerprints() {
    let host = Host::builder()
        .provide::<dyn Lookup>(Arc::new(Empty))
        .build();
    let lookup = crate::plugin::RequiredService {
        name: "Lookup".to_owned(),
        fingerprint: <dyn Lookup>::FINGERPRINT,
        methods: Vec::new().into(),
    };
    let attachment = host.attach("op", &[lookup], crate::state::ScopedState::unnamed());
    // SAFETY: the context of the `HostApi` that `attach` just made.
    let services = unsafe { &*attachment.api.context.cast::<InstanceServices>() };
    assert_eq!(
        services.table("Nope", 0).unwrap_err(),
        "this host provides no service `Nope`"
    );
    // A service the operator did not list is not reached, though the host provides it.
    let unlisted = host.attach("op", &[], crate::state::ScopedState::unnamed());
    // SAFETY: as above.
    let unlisted = unsafe { &*unlisted.api.context.cast::<InstanceServices>() };
    assert_eq!(
        unlisted
            .table("Lookup", <dyn Lookup>::FINGERPRINT)
            .unwrap_err(),
        "`Lookup` is not in this operator's requirements, so the host gives it no table: list it (`requires_` in C, `requires = [..]` in Rust), and the host checks it before creating the operator"
    );
    assert!(
        unlisted
            .table("oplink.State", <dyn State>::FINGERPRINT)
            .is_ok()
    );
    assert!(services.table("Lookup", <dyn Lookup>::FINGERPRINT).is_ok());
    // A plugin built when the trait had only its first method still fits.
    let older = service_fingerprint("Lookup", &<dyn Lookup>::METHODS[..1]);
    assert!(services.table("Lookup", older).is_ok());
    assert_eq!(
        services.table("Lookup", 1).unwrap_err(),
        "the plugin's `Lookup` (fingerprint 0x0000000000000001) has other methods than this host's: fn get(&self, key: &str) -> Option<String>; fn count(&self) -> u64"
    );
    assert!(
        services
            .table("oplink.State", <dyn State>::FINGERPRINT)
            .is_ok()
    );
    assert!(
        services
            .table("oplink.State", 1)
            .unwrap_err()
            .starts_with("the plugin's `oplink.State` (fingerprint 0x0000000000000001) has other methods than this host's: "),
    );
}

#[test]
fn a_lookup_with_a_null_out_parameter_is_invalid_input_not_a_crash() {
    let host = Host::default();
    let attachment = host.attach("op", &[], crate::state::ScopedState::unnamed());
    let lookup = attachment.api.lookup_service.unwrap().0;
    let mut err = ErrorOut::EMPTY;
    let name = StrView::from_static("oplink.State");
    // SAFETY: the `HostApi` `attach` made, a view of a static string and a writable error
    // slot; `out` is null on purpose, as a careless C operator would pass it.
    let status = unsafe {
        lookup(
            &*attachment.api,
            name,
            <dyn State>::FINGERPRINT,
            std::ptr::null_mut(),
            &mut err,
        )
    };
    assert_eq!(status, Status::INVALID_INPUT);
    // SAFETY: the host wrote the whole slot for a failure status.
    let failure = unsafe { oplink::trampoline::Failure::read_from(status, &mut err) }.unwrap();
    assert_eq!(failure.message, "the out-parameter is null");
    // A misaligned one is said to be misaligned, not null.
    let mut room = [0u64; 2];
    let misaligned = room.as_mut_ptr().cast::<u8>().wrapping_add(1).cast();
    let mut err = ErrorOut::EMPTY;
    // SAFETY: as above; `out` is misaligned on purpose and is not written through.
    let status = unsafe {
        lookup(
            &*attachment.api,
            name,
            <dyn State>::FINGERPRINT,
            misaligned,
            &mut err,
        )
    };
    assert_eq!(status, Status::INVALID_INPUT);
    // SAFETY: the host wrote the whole slot for a failure status.
    let failure = unsafe { oplink::trampoline::Failure::read_from(status, &mut err) }.unwrap();
    assert_eq!(
        failure.message,
        format!(
            "the out-parameter is misaligned ({misaligned:p}: a pointer must be aligned to {} bytes)",
            align_of::<*const std::ffi::c_void>()
        )
    );
    assert_eq!(room, [0, 0], "nothing is written through it");
    // The same call with somewhere to write finds the table.
    let mut table = std::ptr::null();
    // SAFETY: as above, with a writable `out`.
    let status = unsafe {
        lookup(
            &*attachment.api,
            name,
            <dyn State>::FINGERPRINT,
            &mut table,
            &mut err,
        )
    };
    assert_eq!(status, Status::OK);
    assert!(!table.is_null());
}

#[test]
fn services_are_identified_by_what_crosses_not_by_spelling() {
    mod spelled {
        #[oplink::host_callbacks(name = "Lookup")]
        pub trait Lookup {
            fn get(&self, name: &str) -> std::option::Option<std::string::String>;
            fn count(&self) -> core::primitive::u64;
        }
    }
    assert_eq!(
        <dyn spelled::Lookup>::FINGERPRINT,
        <dyn Lookup>::FINGERPRINT,
        "parameter names and paths do not matter"
    );
    mod changed {
        #[oplink::host_callbacks(name = "Lookup")]
        pub trait Lookup {
            fn get(&self, key: &str) -> Option<String>;
            fn count(&self) -> u32;
        }
    }
    assert_ne!(
        <dyn changed::Lookup>::FINGERPRINT,
        <dyn Lookup>::FINGERPRINT
    );
}
