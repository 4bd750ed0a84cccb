"""`harness prepare`: fetch a data bundle or the official evaluator, verify it, put it in place.

The order of operations is what makes a prepared folder trustworthy:

1. a folder already prepared (its `.harness-prepared-<asset>.json` record is there) is
   re-verified and left alone: a second run does nothing but check;
2. the archive comes from the first source that answers (a pinned Hugging Face revision,
   the official URL, a Google Drive fallback; or `--from` a local mirror), downloaded to a
   `.part` file that an interrupted run resumes with an HTTP Range request;
3. its size and sha256 are checked BEFORE anything is unpacked;
4. it is unpacked into a staging folder next to the destination (nested archives too),
   and the layout is verified there: every db_id of every split has its database and
   every pinned sha256 matches, else the error names the file and both hashes;
5. only then are the staged entries renamed into place, and the record written last.

Where each step lives:

    manifest.py   the manifests' reader: what each asset is, its sources, its pinned hashes
    install.py    the order above, for an asset and its companions (`prepare`)
    fetch.py      the sources tried in order; the offline fallback (fallbacks.py, punkt.py)
    local.py      what `--from` can serve: an archive, a mirror folder or URL, a git clone
    download.py   HTTP with resume, a pinned Hugging Face file, a git commit
    archive.py    the size and sha256 check, then the unpacking
    layout.py     the bundle's root, its verification, renaming it into place
    record.py     the `.harness-prepared-<asset>.json` record written last
"""
