use proc_macro::TokenStream; #[proc_macro_attribute] pub fn operator(_a: TokenStream, i: TokenStream) -> TokenStream { i }
