//! Prints the `user.js` every Firefox profile of a browser point gets, for tools outside the
//! crate that launch Firefox the same way (scripts/firefox-h2-capture).
//!
//! `cargo run -q -p browser --example firefox_user_js > user.js`

fn main() {
    print!("{}", browser::firefox::prefs::user_js());
}
