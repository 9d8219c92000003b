using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EtlStream.Tests.Servers;
using EtlStream.Tests.Support;

namespace EtlStream.Tests.Sinks;

/// <summary>
/// Database targets whose server misbehaves, run through the CLI: a server that accepts and never answers, a port
/// nobody listens on, a server that echoes the password back. Each fails the run (exit 1) naming host:port, in
/// the connect timeout the target asks for, and never prints the password.
/// </summary>
public sealed class SinkNetworkFailureTests : IDisposable
{
    private const string Password = "s3cret-Echo-pw";
    private readonly TempDirectory _dir = new();

    public SinkNetworkFailureTests() => File.WriteAllText(_dir.File("in.csv"), "a,b\n1,x\n2,y\n");

    public void Dispose() => _dir.Dispose();

    private Task<(int ExitCode, string Out, string Err)> LoadAsync(string target, params string[] more) =>
        CliProcess.RunAsync(_dir.Path,
            new Dictionary<string, string?> { ["PGPASSWORD"] = Password, ["MYSQL_PWD"] = Password, ["CLICKHOUSE_PASSWORD"] = Password, ["ETLSTREAM_DB_PASSWORD"] = null },
            ["load", _dir.File("in.csv"), "--to", target, .. more]);

    [Theory]
    [InlineData("clickhouse", "clickhouse://u@127.0.0.1:{0}/d?table=t&connect_timeout=1", "clickhouse 127.0.0.1:{0}: no answer within 1 s while connecting")]
    [InlineData("postgres", "postgres://u@127.0.0.1:{0}/d?table=t&connect_timeout=1", "postgres 127.0.0.1:{0}: no answer within 1 s while connecting (connect_timeout=1)")]
    [InlineData("mysql", "mysql://u@127.0.0.1:{0}/d?table=t&connect_timeout=1", "mysql 127.0.0.1:{0}: no answer within 1 s while connecting (connect_timeout=1)")]
    public async Task A_server_that_accepts_and_never_answers_fails_the_run_in_the_connect_timeout(string kind, string target, string message)
    {
        using var silent = new SilentTcpServer();
        var port = silent.Port;

        var (code, stdout, stderr) = await LoadAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, target, port)).WaitAsync(TimeSpan.FromMinutes(2));

        Assert.True(silent.Accepted > 0, kind + ": the client never connected");
        Assert.Equal((1, ""), (code, stdout));
        Assert.Equal($"error: {string.Format(System.Globalization.CultureInfo.InvariantCulture, message, port)}\n", stderr);
    }

    [Theory]
    [InlineData("mysql://u@127.0.0.1:{0}/d?table=t", "error: mysql 127.0.0.1:{0}: cannot connect as u to database d: Unable to connect to any of the specified MySQL hosts.\n")]
    [InlineData("postgres://u@127.0.0.1:{0}/d?table=t", "error: postgres 127.0.0.1:{0}: cannot connect as u to database d: Failed to connect to 127.0.0.1:{0}\n")]
    public async Task A_port_nobody_listens_on_is_named_in_the_error(string target, string expected)
    {
        var port = ServerProcess.FreePort();
        var (code, _, stderr) = await LoadAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, target, port));

        Assert.Equal(1, code);
        Assert.Equal(string.Format(System.Globalization.CultureInfo.InvariantCulture, expected, port), stderr);
    }

    [Fact]
    public async Task A_server_echoing_the_password_in_its_error_gets_it_scrubbed_from_stderr_and_the_report()
    {
        using var echo = new EchoingServer();
        var report = _dir.File("run.json");

        var (code, stdout, stderr) = await LoadAsync($"clickhouse://u@127.0.0.1:{echo.Port}/d?table=t", "--report", report);

        Assert.Equal((1, ""), (code, stdout));
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("u:" + Password));
        Assert.Contains(basic, echo.LastRequest, StringComparison.Ordinal); // the server did get (and echo) the credentials
        var expected = $"ClickHouse at http://127.0.0.1:{echo.Port}/ answered 500 for ClickHouse table `d`.`t`: Code: 516. DB::Exception: u: Authentication failed: password is incorrect: '***' (Authorization: Basic ***)";
        Assert.Equal($"error: {expected}\n", stderr);
        var text = await File.ReadAllTextAsync(report);
        Assert.DoesNotContain(Password, text, StringComparison.Ordinal);
        Assert.DoesNotContain(basic, text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(text);
        Assert.Equal(expected, json.RootElement.GetProperty("error").GetString());
    }

    /// <summary>An HTTP endpoint that answers every request 500 with the request's credentials in its body, as a misconfigured proxy might.</summary>
    private sealed class EchoingServer : IDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

        public EchoingServer()
        {
            _listener.Start();
            _ = ServeAsync();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public string LastRequest { get; private set; } = "";

        public void Dispose() => _listener.Stop();

        private async Task ServeAsync()
        {
            try
            {
                while (true)
                {
                    using var client = await _listener.AcceptTcpClientAsync();
                    var stream = client.GetStream();
                    var head = new StringBuilder();
                    var buffer = new byte[4096];
                    while (!head.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
                    {
                        var n = await stream.ReadAsync(buffer);
                        if (n == 0)
                        {
                            break;
                        }

                        head.Append(Encoding.ASCII.GetString(buffer, 0, n));
                    }

                    LastRequest = head.ToString();
                    var auth = LastRequest.Split("\r\n").FirstOrDefault(l => l.StartsWith("Authorization: Basic ", StringComparison.OrdinalIgnoreCase)) ?? "";
                    var basic = auth.Length > 0 ? auth["Authorization: Basic ".Length..] : "";
                    var password = Encoding.UTF8.GetString(Convert.FromBase64String(basic)).Split(':', 2)[^1];
                    var body = Encoding.UTF8.GetBytes($"Code: 516. DB::Exception: u: Authentication failed: password is incorrect: '{password}' (Authorization: Basic {basic})\n");
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n"));
                    await stream.WriteAsync(body);
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException)
            {
                // stopped
            }
        }
    }
}
