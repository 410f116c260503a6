"""Cloud storage: S3 buckets a project takes tasks from (sync) and writes annotations to."""

import streamlit as st

from labelkit import cloud
from labelkit.auth.permissions import Capability
from labelkit.cloud.sync import sync
from labelkit.cloud.targets import export_now
from labelkit.db import session_scope
from labelkit.errors import LabelkitError
from labelkit.ui.context import page_project, show_error

user, project = page_project("storage", Capability.STORAGE_MANAGE, "Cloud storage",
                             "You manage no project's storage. Create a project on the Projects page first.")

st.markdown(
    f"S3 buckets of **{project.title}** (AWS or any S3-compatible store). A **source** makes tasks of its objects "
    "when synced: images, audio, video and PDFs become one task each (shown to annotators through presigned links), "
    ".json/.jsonl files are imported as task files; an object synced before is never imported again. "
    "A **target** receives each annotation as it is submitted, as Label Studio writes them: "
    "one JSON object per annotation, key `prefix/<annotation id>`, the annotation with its task."
)

done = st.session_state.pop("lk_storage_done", None)
if done:
    st.success(done, icon=":material/check_circle:")

with session_scope(write=False) as session:
    storages = cloud.list_storages(session, user, project.id)

for row in storages:
    where = f"s3://{row['bucket']}/{row['prefix']}"
    with st.container(border=True):
        st.markdown(f"**{row['kind'].title()}** `{where}`" + (f" at {row['endpoint_url']}" if row["endpoint_url"] else ""))
        details = [f"credentials {row['credentials']}" + (f" ({row['access_key_id']})" if row["access_key_id"] else "")]
        if row["kind"] == cloud.SOURCE:
            if row["pattern"]:
                details.append(f"{'regex' if row['regex'] else 'files'} `{row['pattern']}`")
            details.append(f"{row['objects_synced']} object(s) synced")
            details.append("media through presigned links" if row["presign"] else "media through this server")
        if row["last_sync_at"]:
            details.append(f"last {'sync' if row['kind'] == cloud.SOURCE else 'export'} {row['last_sync_at']:%Y-%m-%d %H:%M} UTC")
        st.caption(" · ".join(details))
        if row["last_error"]:
            st.error(row["last_error"], icon=":material/error:")
        left, right = st.columns(2)
        action = "Sync" if row["kind"] == cloud.SOURCE else "Export now"
        if left.button(action, key=f"lk_storage_run_{row['id']}", type="primary",
                       icon=":material/sync:" if row["kind"] == cloud.SOURCE else ":material/cloud_upload:"):
            try:
                with st.spinner(f"{action}…"), session_scope() as session:
                    if row["kind"] == cloud.SOURCE:
                        message = sync(session, user, row["id"]).summary()
                    else:
                        message = f"{export_now(session, user, row['id'])} annotation(s) written to {where}."
            except LabelkitError as e:
                cloud.note_error(row["id"], str(e))
                show_error(e)
            else:
                st.session_state["lk_storage_done"] = message
                st.rerun()
        if right.button("Disconnect", key=f"lk_storage_delete_{row['id']}", icon=":material/link_off:"):
            try:
                with session_scope() as session:
                    cloud.delete_storage(session, user, row["id"])
            except LabelkitError as e:
                show_error(e)
            else:
                st.session_state["lk_storage_done"] = f"Disconnected {where}; its tasks stay."
                st.rerun()

with st.expander("Connect a bucket", expanded=not storages, icon=":material/add_link:"), st.form("lk_storage_new"):
    kind = st.radio("Kind", cloud.KINDS, horizontal=True, key="lk_storage_kind",
                    format_func=lambda k: "Source (tasks from the bucket)" if k == cloud.SOURCE else "Target (annotations to the bucket)")
    bucket = st.text_input("Bucket", key="lk_storage_bucket")
    prefix = st.text_input("Prefix (folder)", key="lk_storage_prefix", placeholder="images/")
    pattern = st.text_input("File pattern (sources)", key="lk_storage_pattern", placeholder="*.jpg",
                            help="A glob (*.png, day-*/*.jpg) matched against the key below the prefix or the file name; "
                            "or a regular expression searched for in the key below the prefix.")
    regex = st.checkbox("The pattern is a regular expression", key="lk_storage_regex")
    proxied = st.checkbox("Send media through this server (sources)", key="lk_storage_proxy",
                          help="For a bucket the annotators' browsers cannot reach (a private network, an endpoint on "
                          "this machine): the server streams each file to signed-in people. Off: browsers load media "
                          "straight from the bucket through presigned links.")
    region = st.text_input("Region", key="lk_storage_region", placeholder="us-east-1")
    endpoint = st.text_input("Endpoint URL (empty for AWS)", key="lk_storage_endpoint", placeholder="https://minio.example.com")
    key_id = st.text_input("Access key ID", key="lk_storage_key_id",
                           help="Leave both empty to use the server's credentials (AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile or a role).")
    secret = st.text_input("Secret access key", type="password", key="lk_storage_secret",
                           help="Stored encrypted with a key derived from the portal's secret key.")
    if st.form_submit_button("Check and connect", type="primary"):
        fields = cloud.StorageFields(kind=kind, bucket=bucket, prefix=prefix, pattern=pattern, regex=regex, presign=not proxied,
                                     region=region, endpoint_url=endpoint, access_key_id=key_id, secret_access_key=secret)
        try:
            with session_scope() as session:
                cloud.add_storage(session, user, project.id, fields)
        except LabelkitError as e:
            show_error(e)
        else:
            st.session_state["lk_storage_done"] = f"Connected s3://{bucket.strip()}/{prefix.strip()}."
            st.rerun()
