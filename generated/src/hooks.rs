//! The hook chain every generated operation runs through: progenitor calls `pre` on the
//! built request, then `exec` to send it, then `post`. Both delegate to the [`Runtime`].

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

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
            .pre(
                self.client(),
                self.baseurl(),
                request,
                info.operation_id,
                OPERATIONS,
            )
            .await
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        self.inner
            .exec(self.client(), self.baseurl(), request)
            .await
    }
}
