"""`tfxpipe serve` on a port another process listens on stops at once with one line naming the
port and its option, before any model loads (the servers' own bind errors are tracebacks, and
gRPC's listener would share the port with a second server without a word)."""
import socket

import pytest

from cli import main as cli
from serving import commands


@pytest.fixture
def listener():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_port_another_process_listens_on_is_named_and_a_free_one_is_not(listener):
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        unused = free.getsockname()[1]
    assert commands.unbindable_ports("127.0.0.1", {"--rest-port": listener, "--grpc-port": unused}) == [
        f"port {listener} (--rest-port) is in use on 127.0.0.1: another server listens there"]
    assert commands.unbindable_ports("0.0.0.0", {"--grpc-port": listener}) == [
        f"port {listener} (--grpc-port) is in use on 0.0.0.0: another server listens there"]


def test_an_address_not_on_this_machine_is_not_called_a_busy_port():
    [problem] = commands.unbindable_ports("192.0.2.1", {"--rest-port": 8501})  # TEST-NET-1
    assert problem.startswith("cannot bind 192.0.2.1 port 8501 (--rest-port): ") and "in use" not in problem


@pytest.mark.parametrize("option", ["--rest-port", "--grpc-port"])
def test_serve_on_a_busy_port_exits_with_one_line_before_loading_a_model(listener, option, tmp_path, capsys):
    code = cli.main(["serve", "--host", "127.0.0.1", "--rest-port", "0", "--grpc-port", "0",
                     option, str(listener), "--serving-dir", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().out == (f"error: port {listener} ({option}) is in use on 127.0.0.1: another "
                                       "server listens there; stop it, or give another port or --host\n")


@pytest.mark.parametrize("port", ["99999", "-5", "eighty"])
def test_a_port_number_no_socket_takes_is_refused_before_anything_starts(port, tmp_path, capsys):
    """99999 would be bound as 34463 (99999 - 65536) without a word."""
    with pytest.raises(SystemExit) as ended:
        cli.main(["serve", "--rest-port", port, "--serving-dir", str(tmp_path)])
    assert ended.value.code == 2
    assert f"argument --rest-port/--rest_api_port: {port!r} is no TCP port: give 1 to 65535, or 0 for any free port" \
        in capsys.readouterr().err


@pytest.mark.parametrize("rest, grpc", [("--rest-port", "--grpc-port"),
                                        ("--rest_api_port", "--port")])  # TF Serving's own spellings
def test_one_port_for_rest_and_grpc_is_refused_in_one_line(tmp_path, capsys, rest, grpc):
    code = cli.main(["serve", "--host", "127.0.0.1", rest, "28521", grpc, "28521", "--serving-dir", str(tmp_path)])
    assert code == 1
    assert capsys.readouterr().out == ("error: --rest-port and --grpc-port are both 28521: REST and gRPC each need "
                                       "a port of their own\n")
