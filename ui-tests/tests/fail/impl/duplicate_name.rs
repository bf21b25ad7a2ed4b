use oplink::prelude::*;

mod first {
    use super::*;

    pub struct Keep;

    #[oplink::operator(name = "filter", version = "1.0.0")]
    impl Keep {
        fn new() -> Result<Self> {
            Ok(Keep)
        }

        fn apply(&mut self, change: Change) -> Result<Change> {
            Ok(change)
        }
    }
}

mod second {
    use super::*;

    pub struct Drop;

    #[oplink::operator(name = "filter", version = "2.0.0")]
    impl Drop {
        fn new() -> Result<Self> {
            Ok(Drop)
        }

        fn apply(&mut self, change: Change) -> Result<Change> {
            Ok(change.empty_like())
        }
    }
}

// Another name with the characters a name may have besides letters, twice.
mod third {
    use super::*;

    pub struct Sum;

    #[oplink::operator(name = "running-sum.v2", version = "1.0.0")]
    impl Sum {
        fn new() -> Result<Self> {
            Ok(Sum)
        }

        fn apply(&mut self, change: Change) -> Result<Change> {
            Ok(change)
        }
    }

    pub struct Other;

    #[oplink::operator(name = "running-sum.v2", version = "1.0.0")]
    impl Other {
        fn new() -> Result<Self> {
            Ok(Other)
        }

        fn apply(&mut self, change: Change) -> Result<Change> {
            Ok(change)
        }
    }
}

fn main() {}
