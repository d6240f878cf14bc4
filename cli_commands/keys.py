"""`pot key`: a member's signing keys on this machine (SPEC §7) — new, show, revoke."""

from __future__ import annotations

from pathlib import Path

import click

from cli import Session, as_option, emit_json, json_option, pass_session, table


@click.group()
def key() -> None:
    """Keys that sign your votes and records, so nobody can forge them.

    Example: pot --as Bo key new
    """


@key.command("new")
@click.option("--file", "file", metavar="F", type=click.Path(dir_okay=False, path_type=Path), help="Write it here.")
@as_option
@json_option
@pass_session
def key_new(s: Session, file: Path | None, as_json: bool) -> None:
    """Make a key for --as on this machine and register it in the pot, by an event it signs.

    The private key is written to a file only you can read (in your data
    directory, or F); from then on your commands are signed with it. A key
    written to F signs when you pass `--key F`.

    Example: pot --as Bo key new
    """
    from ledger.keys import key_id, key_path, new_key, public_key_text, write_key

    private = new_key()
    public = public_key_text(private)
    path = file if file is not None else key_path(s.slug, s.actor, key_id(private))
    # Written first, so a key registered in the pot is never one this machine lost; removed if refused.
    write_key(private, path)
    try:
        added = s.ledger.add_key(s.slug, s.actor, public, private.sign, s.today)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    if as_json:
        return emit_json(
            {"no": added.no, "member": added.name, "key_id": key_id(private), "public_key": public, "file": str(path)}
        )
    click.echo(f"registered key {key_id(private)} for {added.name} (event {added.no}); the private key is in {path}")


@key.command("show")
@as_option
@json_option
@pass_session
def key_show(s: Session, as_json: bool) -> None:
    """Show the id and public key of each key here for --as (or --key FILE), and whether it is in force.

    Example: pot --as Bo key show
    """
    from ledger.keys import key_id, keys_here, load_key, public_key_text, registered_keys

    files = [Path(s.key_file).expanduser()] if s.key_file else keys_here(s.slug, s.actor)
    registered = {k.key_id: k for k in registered_keys(s.ledger, s.slug)}
    rows = []
    for path in files:
        private = load_key(path)
        found = registered.get(key_id(private))
        if found is None:
            status = "not registered"
        elif found.revoked is not None:
            status = f"revoked (event {found.revoked})"
        else:
            status = f"in force for {found.member} (event {found.added})"
        rows.append(
            {"key_id": key_id(private), "public_key": public_key_text(private), "file": str(path), "status": status}
        )
    if as_json:
        return emit_json(rows)
    if not rows:
        click.echo(f"no key here for {s.actor} in pot {s.slug}: `pot --as {s.actor} key new` makes one")
        return
    table(
        None,
        ["key id", "public key", "status", "file"],
        [[r["key_id"], r["public_key"], r["status"], r["file"]] for r in rows],
    )


@key.command("revoke")
@click.argument("key_id")
@as_option
@pass_session
def key_revoke(s: Session, key_id: str) -> None:
    """End one of your keys: from now on its signatures no longer count (earlier ones still do).

    Example: pot --as Bo key revoke 3f9a0c1e5b7d2a4f
    """
    revoked = s.ledger.revoke_key(s.slug, actor=s.actor, key_id=key_id.strip().lower(), today=s.today)
    click.echo(f"revoked key {key_id.strip().lower()} of {revoked.name} (event {revoked.no})")
