use rand::Rng;
use rand::distr::Alphanumeric;

/// Random bytes from the operating system's generator (through `rand`'s thread-local CSPRNG).
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    rand::rng().fill(&mut bytes[..]);
    bytes
}

/// A random alphanumeric token: `len` characters carry about 5.95 bits each.
pub fn random_token(len: usize) -> String {
    rand::rng().sample_iter(&Alphanumeric).take(len).map(char::from).collect()
}
