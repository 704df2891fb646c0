//! Secrets for console accounts: session and CSRF tokens and password salts, from the OS
//! random source. Nothing here is recorded or reaches a draw; draw seeds have their own
//! module (`issue::seed`).

/// `n` bytes from the OS random source.
pub(crate) fn bytes<const N: usize>() -> Result<[u8; N], String> {
    use rand::TryRngCore;
    let mut out = [0u8; N];
    rand::rngs::OsRng
        .try_fill_bytes(&mut out)
        .map_err(|e| format!("the operating system's random source failed: {e}"))?;
    Ok(out)
}

/// A fresh 256-bit token as lowercase hex.
pub(crate) fn token() -> Result<String, String> {
    Ok(hex::encode(bytes::<32>()?))
}
