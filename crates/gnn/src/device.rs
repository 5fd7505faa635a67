//! Where tensors live: burn's flex backend on the CPU, or wgpu on a GPU, chosen at run time.

use crate::error::{GnnError, Result};
use burn::prelude::*;
#[cfg(feature = "wgpu")]
use std::sync::OnceLock;

/// A device the user can ask for (`--device cpu|wgpu`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// burn's flex CPU backend.
    #[default]
    Cpu,
    /// The default wgpu adapter (a discrete GPU if there is one; lavapipe in CI).
    Wgpu,
}

impl std::str::FromStr for DeviceChoice {
    type Err = String;

    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "cpu" => Ok(DeviceChoice::Cpu),
            "wgpu" | "gpu" => Ok(DeviceChoice::Wgpu),
            other => Err(format!("unknown device '{other}': expected cpu or wgpu")),
        }
    }
}

impl std::fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            DeviceChoice::Cpu => "cpu",
            DeviceChoice::Wgpu => "wgpu",
        })
    }
}

/// wgpu's runtime can be initialised once per process; later calls reuse the first answer.
#[cfg(feature = "wgpu")]
static WGPU: OnceLock<std::result::Result<Device, String>> = OnceLock::new();

/// Opens the device. For wgpu this acquires an adapter now, so a machine without one fails here
/// with a plain message instead of panicking in the first tensor operation. A build without the
/// `wgpu` feature refuses it the same way.
pub fn open(choice: DeviceChoice) -> Result<Device> {
    match choice {
        DeviceChoice::Cpu => Ok(Device::flex()),
        #[cfg(not(feature = "wgpu"))]
        DeviceChoice::Wgpu => Err(GnnError::NoGpuBackend),
        #[cfg(feature = "wgpu")]
        DeviceChoice::Wgpu => WGPU
            .get_or_init(|| match Device::wgpu_options().init() {
                Ok(device) => Ok(device),
                // Something in the process already started the default wgpu device (burn-optim
                // materialises a loaded optimiser state on `Device::default()`, which is wgpu in
                // this build); that device is the one `init` would have opened.
                Err(e) if e.to_string().contains("already initialized") => {
                    Ok(Device::wgpu(Default::default()))
                }
                Err(e) => Err(e.to_string()),
            })
            .clone()
            .map_err(|reason| GnnError::NoGpu { reason }),
    }
}
