//! Hotkeys: sr25519 keypairs (schnorrkel, signing context `substrate`), Bittensor wallet
//! hotkey files and SS58 addresses (prefix 42), as `../shared/protocol/README.md` §2.4 gives
//! them. Secrets are never logged or printed.

use std::path::Path;

use blake2::{Blake2b512, Digest};
use schnorrkel::{ExpansionMode, Keypair, MiniSecretKey, PublicKey, SecretKey, Signature};
use sigil_onnx::circuit::hex;

/// The signing context of Substrate's sr25519.
const SIGNING_CONTEXT: &[u8] = b"substrate";
/// The SS58 address type of generic Substrate (and Bittensor) accounts.
const SS58_PREFIX: u8 = 42;

/// Why a key or address was refused.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{path}: {why}")]
    File { path: String, why: String },
    #[error("not an SS58 address: {0}")]
    Address(String),
}

/// An sr25519 hotkey.
#[derive(Clone)]
pub struct Hotkey {
    keypair: Keypair,
    seed: Option<[u8; 32]>,
    ss58: String,
}

impl std::fmt::Debug for Hotkey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The address only: the secret stays out of logs.
        f.debug_struct("Hotkey").field("ss58", &self.ss58).finish_non_exhaustive()
    }
}

impl Hotkey {
    /// The keypair of a 32-byte seed, as Substrate's `sr25519::Pair::from_seed` (Ed25519
    /// expansion of the mini secret key).
    pub fn from_seed(seed: [u8; 32]) -> Self {
        let keypair = MiniSecretKey::from_bytes(&seed).expect("32 bytes").expand_to_keypair(ExpansionMode::Ed25519);
        let ss58 = ss58_encode(&keypair.public.to_bytes());
        Self { keypair, seed: Some(seed), ss58 }
    }

    /// A fresh random hotkey.
    pub fn generate() -> Self {
        let mut seed = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut seed);
        Self::from_seed(seed)
    }

    /// Reads a Bittensor wallet's hotkey file (plaintext JSON with `secretSeed` or
    /// `privateKey`); the file's `ss58Address`, when present, must be the key's.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeyError> {
        let path = path.as_ref();
        let err = |why: String| KeyError::File { path: path.display().to_string(), why };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|_| err("not a plaintext hotkey file (JSON with secretSeed or privateKey); encrypted keyfiles are not read".into()))?;
        let field = |name: &str| -> Result<Option<Vec<u8>>, KeyError> {
            match v.get(name).and_then(|x| x.as_str()) {
                None => Ok(None),
                Some(s) => hex_decode(s.strip_prefix("0x").unwrap_or(s)).map(Some).ok_or_else(|| err(format!("`{name}` is not hex"))),
            }
        };
        let key = if let Some(seed) = field("secretSeed")? {
            let seed: [u8; 32] = seed.try_into().map_err(|_| err("`secretSeed` is not 32 bytes".into()))?;
            Self::from_seed(seed)
        } else if let Some(sk) = field("privateKey")? {
            let secret = SecretKey::from_bytes(&sk).map_err(|e| err(format!("`privateKey`: {e}")))?;
            let keypair = secret.to_keypair();
            let ss58 = ss58_encode(&keypair.public.to_bytes());
            Self { keypair, seed: None, ss58 }
        } else {
            return Err(err("neither `secretSeed` nor `privateKey` is there".into()));
        };
        if let Some(addr) = v.get("ss58Address").and_then(|x| x.as_str())
            && addr != key.ss58
        {
            return Err(err(format!("its secret is the key of {}, not of its ss58Address {addr}", key.ss58)));
        }
        Ok(key)
    }

    /// Writes a plaintext hotkey file in the layout Bittensor wallets use (mode 0600 on
    /// Unix), creating its directory.
    pub fn save(&self, path: impl AsRef<Path>) -> std::io::Result<()> {
        let path = path.as_ref();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let public = format!("0x{}", hex(&self.keypair.public.to_bytes()));
        let v = serde_json::json!({
            "accountId": public,
            "publicKey": public,
            "privateKey": format!("0x{}", hex(&self.keypair.secret.to_bytes())),
            "secretPhrase": null,
            "secretSeed": self.seed.map(|s| format!("0x{}", hex(&s))),
            "ss58Address": self.ss58,
        });
        let mut opts = std::fs::OpenOptions::new();
        opts.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
        std::io::Write::write_all(&mut opts.open(path)?, v.to_string().as_bytes())
    }

    /// The SS58 address.
    pub fn ss58(&self) -> &str {
        &self.ss58
    }

    /// Signs `message` (sr25519, context `substrate`; randomized).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.keypair.sign(schnorrkel::signing_context(SIGNING_CONTEXT).bytes(message)).to_bytes()
    }
}

/// Whether `signature` is `address`'s signature of `message`. Never panics.
pub fn verify(address: &str, message: &[u8], signature: &[u8]) -> bool {
    let Ok(pk) = ss58_decode(address) else { return false };
    let (Ok(pk), Ok(sig)) = (PublicKey::from_bytes(&pk), Signature::from_bytes(signature)) else { return false };
    pk.verify(schnorrkel::signing_context(SIGNING_CONTEXT).bytes(message), &sig).is_ok()
}

fn ss58_checksum(body: &[u8]) -> [u8; 2] {
    let h = Blake2b512::new().chain_update(b"SS58PRE").chain_update(body).finalize();
    [h[0], h[1]]
}

/// The SS58 address (prefix 42) of a public key.
pub fn ss58_encode(public: &[u8; 32]) -> String {
    let mut body = vec![SS58_PREFIX];
    body.extend_from_slice(public);
    let check = ss58_checksum(&body);
    body.extend_from_slice(&check);
    bs58::encode(body).into_string()
}

/// The public key of an SS58 address (prefix 42; the checksum is checked).
pub fn ss58_decode(address: &str) -> Result<[u8; 32], KeyError> {
    let bad = || KeyError::Address(address.chars().take(64).collect());
    let bytes = bs58::decode(address).into_vec().map_err(|_| bad())?;
    if bytes.len() != 35 || bytes[0] != SS58_PREFIX || ss58_checksum(&bytes[..33]) != bytes[33..] {
        return Err(bad());
    }
    Ok(bytes[1..33].try_into().expect("32 bytes"))
}

/// Hex to bytes (either case); `None` on odd length or a non-hex digit.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks_exact(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_round_trip_and_checksums_are_checked() {
        let k = Hotkey::from_seed([7; 32]);
        assert_eq!(k.ss58().len(), 48);
        assert!(k.ss58().starts_with('5'));
        let pk = ss58_decode(k.ss58()).unwrap();
        assert_eq!(ss58_encode(&pk), k.ss58());
        let mut bad = k.ss58().to_string().into_bytes();
        bad[10] = if bad[10] == b'a' { b'b' } else { b'a' };
        assert!(ss58_decode(std::str::from_utf8(&bad).unwrap()).is_err());
        assert!(ss58_decode("").is_err());
        assert!(ss58_decode("0OIl").is_err());
    }

    #[test]
    fn signatures_verify_and_a_changed_message_fails() {
        let k = Hotkey::generate();
        let sig = k.sign(b"hello");
        assert!(verify(k.ss58(), b"hello", &sig));
        assert!(!verify(k.ss58(), b"hellp", &sig));
        assert!(!verify(Hotkey::generate().ss58(), b"hello", &sig));
        assert!(!verify(k.ss58(), b"hello", &sig[..63]));
        assert!(!verify("garbage", b"hello", &sig));
    }

    #[test]
    fn hotkey_files_round_trip() {
        let dir = std::env::temp_dir().join(format!("sigil-keys-{}", std::process::id()));
        let k = Hotkey::generate();
        let path = dir.join("hotkeys").join("default");
        k.save(&path).unwrap();
        assert_eq!(Hotkey::load(&path).unwrap().ss58(), k.ss58());
        // The private key alone reproduces the address too.
        let mut v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        v["secretSeed"] = serde_json::Value::Null;
        std::fs::write(&path, v.to_string()).unwrap();
        assert_eq!(Hotkey::load(&path).unwrap().ss58(), k.ss58());
        // A file whose address is another key's is refused.
        v["ss58Address"] = Hotkey::generate().ss58().into();
        std::fs::write(&path, v.to_string()).unwrap();
        assert!(Hotkey::load(&path).is_err());
        std::fs::write(&path, "not json").unwrap();
        assert!(Hotkey::load(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
