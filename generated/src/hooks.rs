//! The hook chain every generated operation runs through: progenitor calls `pre` on the
//! built request, then `exec` to send it, then `post`.

use progenitor_client::{ClientHooks, Error, OperationInfo};

use crate::Client;
use crate::generated::OPERATIONS;
use crate::runtime::Runtime;

impl ClientHooks<Runtime> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        self.inner
            .prepare(request, info.operation_id, OPERATIONS)
            .map(drop)
            .map_err(Error::InvalidRequest)
    }
}
