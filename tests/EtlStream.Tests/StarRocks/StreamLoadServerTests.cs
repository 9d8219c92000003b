using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using EtlStream.Tests.Servers;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// The protocol server is only worth something if it is strict: each MUST of STREAMLOAD.md it enforces is shown
/// here with a raw client, exact status and message text, and rows counted in MariaDB.
/// </summary>
[Collection(MariaDbCollection.Name)]
public sealed class StreamLoadServerTests(MariaDbServer mariaDb)
{
    private const string Columns = "id,name,amount,day";

    private static async Task<StarRocksTestBed> BedAsync(MariaDbServer mariaDb)
    {
        var bed = await StarRocksTestBed.StartAsync(mariaDb);
        await mariaDb.ExecuteAsync("CREATE TABLE s (id INT NOT NULL, name VARCHAR(5) NULL, amount DECIMAL(5,2) NULL, day DATE NULL)", bed.Database);
        return bed;
    }

    private static async Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> SendAsync(
        HttpMethod method, int port, string path, string? body, bool auth = true, bool expect = true, params (string Name, string Value)[] headers)
    {
        using var http = new HttpClient(new SocketsHttpHandler { AllowAutoRedirect = false, Expect100ContinueTimeout = TimeSpan.FromSeconds(10) });
        using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{port}{path}");
        if (auth)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{MariaDbServer.User}:{MariaDbServer.Password}")));
        }

        request.Headers.ExpectContinue = expect;
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        if (body is not null)
        {
            request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
        }

        using var response = await http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response.Headers);
    }

    private static Task<(HttpStatusCode Status, string Body, HttpResponseHeaders Headers)> LoadAsync(StarRocksTestBed bed, string label, string body, params (string, string)[] more) =>
        SendAsync(HttpMethod.Put, bed.Server.BePort, $"/api/{bed.Database}/s/_stream_load", body, headers: [("label", label), ("columns", Columns), .. more]);

    private static JsonElement Json(string body) => JsonDocument.Parse(body).RootElement;

    [Fact]
    public async Task Requests_without_basic_auth_are_refused_on_the_fe_and_the_be()
    {
        await using var bed = await BedAsync(mariaDb);
        foreach (var port in new[] { bed.Server.FePort, bed.Server.BePort })
        {
            var (status, _, _) = await SendAsync(HttpMethod.Put, port, $"/api/{bed.Database}/s/_stream_load", "1\n", auth: false, headers: ("label", "l1"));
            Assert.Equal(HttpStatusCode.Unauthorized, status);
        }

        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(HttpMethod.Get, bed.Server.FePort, $"/api/{bed.Database}/get_load_state?label=l1", null, auth: false)).Status);
        Assert.Equal(0, await bed.CountAsync("s"));
    }

    [Fact]
    public async Task A_load_without_expect_100_continue_fails_as_starrocks_says()
    {
        await using var bed = await BedAsync(mariaDb);

        var (status, body, _) = await SendAsync(HttpMethod.Put, bed.Server.FePort, $"/api/{bed.Database}/s/_stream_load", "1\tx\t1\t2026-01-01\n", expect: false, headers: ("label", "l1"));

        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(("FAILED", "There is no 100-continue header"), (Json(body).GetProperty("Status").GetString(), Json(body).GetProperty("Message").GetString()));
    }

    [Fact]
    public async Task The_fe_redirects_to_the_be_without_reading_the_body_and_closes()
    {
        await using var bed = await BedAsync(mariaDb);
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, bed.Server.FePort);
        var stream = client.GetStream();
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{MariaDbServer.User}:{MariaDbServer.Password}"));

        // The head only: a server that waited for the 1,000-byte body would never answer.
        await stream.WriteAsync(Encoding.ASCII.GetBytes(
            $"PUT /api/{bed.Database}/s/_stream_load HTTP/1.1\r\nHost: fe\r\nAuthorization: Basic {auth}\r\nExpect: 100-continue\r\nlabel: l1\r\nContent-Length: 1000\r\n\r\n"));
        var reply = await new StreamReader(stream).ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(10)); // ends: the FE closed

        Assert.StartsWith("HTTP/1.1 307 Temporary Redirect\r\n", reply, StringComparison.Ordinal);
        Assert.Contains($"\r\nLocation: http://127.0.0.1:{bed.Server.BePort}/api/{bed.Database}/s/_stream_load\r\n", reply, StringComparison.Ordinal);
        Assert.DoesNotContain("100 Continue", reply, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rows_are_filtered_for_column_count_varchar_bytes_and_not_null_and_served_at_the_error_url()
    {
        await using var bed = await BedAsync(mariaDb);
        const string body = "1\tabc\t1.50\t2026-01-01\n2\tabcdé\t2.00\t2026-01-02\n3\tx\n4\t\"q\"\"t\"\tnotnum\t2026-01-04\n\\N\tnull-id\t1\t2026-01-05\n6\t\"a\tb\"\t\\N\t\\N\n";

        var (_, reply, _) = await LoadAsync(bed, "filter1", body, ("max_filter_ratio", "0.9"), ("enclose", "\""));

        var json = Json(reply);
        Assert.Equal(("Success", 6L, 3L, 3L), (json.GetProperty("Status").GetString(), json.GetProperty("NumberTotalRows").GetInt64(), json.GetProperty("NumberLoadedRows").GetInt64(), json.GetProperty("NumberFilteredRows").GetInt64()));
        Assert.Equal([[1, "abc", 1.50m, new DateTime(2026, 1, 1)], [4, "q\"t", null, new DateTime(2026, 1, 4)], [6, "a\tb", null, null]],
            await bed.RowsAsync("SELECT id, name, amount, day FROM s ORDER BY id"));
        var url = new Uri(json.GetProperty("ErrorURL").GetString()!);
        var (_, log, _) = await SendAsync(HttpMethod.Get, url.Port, url.PathAndQuery, null);
        Assert.Equal(
            "Error: String 'abcdé'(length=6) is too long. The max length of 'name' is 5. Row: 2\tabcdé\t2.00\t2026-01-02\n" +
            "Error: Value count does not match column count. Expect 4, but got 2. Row: 3\tx\n" +
            "Error: NULL value in non-nullable column 'id'. Row: \\N\tnull-id\t1\t2026-01-05\n",
            log);
    }

    [Fact]
    public async Task Strict_mode_filters_a_value_that_does_not_convert_instead_of_loading_null()
    {
        await using var bed = await BedAsync(mariaDb);

        var (_, reply, _) = await LoadAsync(bed, "strict1", "1\ta\tnotnum\t2026-01-01\n2\tb\t2.5\t2026-13-01\n3\tc\t3\t2026-01-03\n", ("strict_mode", "true"), ("max_filter_ratio", "1"));

        Assert.Equal(2, Json(reply).GetProperty("NumberFilteredRows").GetInt64());
        Assert.Equal([[3, 3.00m]], await bed.RowsAsync("SELECT id, amount FROM s"));
    }

    [Fact]
    public async Task Max_filter_ratio_zero_fails_the_whole_load_and_commits_nothing()
    {
        await using var bed = await BedAsync(mariaDb);

        var (_, reply, _) = await LoadAsync(bed, "ratio1", "1\tabc\t1\t2026-01-01\n2\ttoo-long\t2\t2026-01-02\n");

        Assert.Equal(("FAILED", "too many filtered rows"), (Json(reply).GetProperty("Status").GetString(), Json(reply).GetProperty("Message").GetString()));
        Assert.StartsWith($"http://127.0.0.1:{bed.Server.BePort}/api/_load_error_log?file=", Json(reply).GetProperty("ErrorURL").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await bed.CountAsync("s"));
        Assert.Equal("ABORTED", Json((await SendAsync(HttpMethod.Get, bed.Server.FePort, $"/api/{bed.Database}/get_load_state?label=ratio1", null)).Body).GetProperty("State").GetString());

        // A failed label may be reused.
        var (_, again, _) = await LoadAsync(bed, "ratio1", "1\tabc\t1\t2026-01-01\n");
        Assert.Equal("Success", Json(again).GetProperty("Status").GetString());
    }

    [Fact]
    public async Task A_label_commits_once_and_get_load_state_tells_its_state()
    {
        await using var bed = await BedAsync(mariaDb);
        var state = async (string label) => Json((await SendAsync(HttpMethod.Get, bed.Server.FePort, $"/api/{bed.Database}/get_load_state?label={label}", null)).Body).GetProperty("State").GetString();
        Assert.Equal("UNKNOWN", await state("once"));

        var first = Json((await LoadAsync(bed, "once", "1\ta\t1\t2026-01-01\n")).Body);
        var second = Json((await LoadAsync(bed, "once", "1\ta\t1\t2026-01-01\n")).Body);

        Assert.Equal("Success", first.GetProperty("Status").GetString());
        Assert.Equal(("Label Already Exists", "FINISHED"), (second.GetProperty("Status").GetString(), second.GetProperty("ExistingJobStatus").GetString()));
        Assert.Equal("VISIBLE", await state("once"));
        Assert.Equal(1, await bed.CountAsync("s"));
        Assert.Equal(1L, Convert.ToInt64(await mariaDb.ScalarAsync($"SELECT COUNT(*) FROM `{StreamLoadServer.LabelTable}` WHERE label = 'once'", bed.Database), System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("has space")]
    [InlineData("dot.label")]
    [InlineData("")]
    public async Task Invalid_labels_are_refused(string label)
    {
        await using var bed = await BedAsync(mariaDb);

        var reply = Json((await LoadAsync(bed, label, "1\ta\t1\t2026-01-01\n")).Body);

        Assert.Equal("FAILED", reply.GetProperty("Status").GetString());
        Assert.Contains("is invalid", reply.GetProperty("Message").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, await bed.CountAsync("s"));
        Assert.Equal("FAILED", Json((await LoadAsync(bed, new string('a', 129), "1\ta\t1\t2026-01-01\n")).Body).GetProperty("Status").GetString());
    }

    [Fact]
    public async Task A_body_over_the_size_cap_is_refused_before_it_is_read()
    {
        var database = await mariaDb.CreateDatabaseAsync("srcap");
        await using var server = new StreamLoadServer(mariaDb.ConnectionString(), MariaDbServer.User, MariaDbServer.Password) { BodyCapBytes = 16 }.Start();

        var (_, body, _) = await SendAsync(HttpMethod.Put, server.BePort, $"/api/{database}/s/_stream_load", new string('x', 17), headers: ("label", "big"));

        Assert.Equal(("FAILED", "body size 17 exceed limit 16 (streaming_load_max_mb)"), (Json(body).GetProperty("Status").GetString(), Json(body).GetProperty("Message").GetString()));
    }

    [Fact]
    public async Task Unknown_columns_in_the_columns_header_fail_the_load()
    {
        await using var bed = await BedAsync(mariaDb);

        var reply = Json((await SendAsync(HttpMethod.Put, bed.Server.BePort, $"/api/{bed.Database}/s/_stream_load", "1\n", headers: [("label", "cols"), ("columns", "id,nope")])).Body);

        Assert.Equal("Unknown column 'nope' in table 's'", reply.GetProperty("Message").GetString());
    }

    [Fact]
    public async Task A_transaction_commits_its_loads_together_and_commit_is_idempotent()
    {
        await using var bed = await BedAsync(mariaDb);
        (string, string)[] txn = [("label", "txn1"), ("db", bed.Database), ("table", "s")];
        async Task<JsonElement> Step(string op) => Json((await SendAsync(HttpMethod.Post, bed.Server.FePort, $"/api/transaction/{op}", null, headers: txn)).Body);
        async Task<JsonElement> Load(string body) => Json((await SendAsync(HttpMethod.Put, bed.Server.BePort, "/api/transaction/load", body, headers: [.. txn, ("columns", Columns)])).Body);

        Assert.Equal("FAILED", (await Load("1\ta\t1\t2026-01-01\n")).GetProperty("Status").GetString()); // no such transaction yet
        Assert.Equal("OK", (await Step("begin")).GetProperty("Status").GetString());
        var again = await Step("begin");
        Assert.Equal(("LABEL_ALREADY_EXISTS", "RUNNING"), (again.GetProperty("Status").GetString(), again.GetProperty("ExistingJobStatus").GetString()));
        Assert.Equal("OK", (await Load("1\ta\t1\t2026-01-01\n")).GetProperty("Status").GetString());
        Assert.Equal("OK", (await Load("2\tb\t2\t2026-01-02\n3\tc\t3\t2026-01-03\n")).GetProperty("Status").GetString());
        Assert.Equal(0, await bed.CountAsync("s")); // not visible before commit
        Assert.Equal("OK", (await Step("prepare")).GetProperty("Status").GetString());
        var commit = await Step("commit");
        var again2 = await Step("commit");
        Assert.Equal(("OK", ""), (commit.GetProperty("Status").GetString(), commit.GetProperty("Message").GetString()));
        Assert.Equal(("OK", "Transaction already commited"), (again2.GetProperty("Status").GetString(), again2.GetProperty("Message").GetString()));
        Assert.Equal(3, await bed.CountAsync("s"));
        var finished = await Step("begin");
        Assert.Equal(("LABEL_ALREADY_EXISTS", "FINISHED"), (finished.GetProperty("Status").GetString(), finished.GetProperty("ExistingJobStatus").GetString()));
        Assert.Equal("FAILED", (await Step("rollback")).GetProperty("Status").GetString()); // a visible transaction cannot be rolled back
    }

    [Fact]
    public async Task A_rolled_back_transaction_leaves_nothing_and_its_label_can_be_used_again()
    {
        await using var bed = await BedAsync(mariaDb);
        (string, string)[] txn = [("label", "txn2"), ("db", bed.Database), ("table", "s")];
        async Task<JsonElement> Step(string op) => Json((await SendAsync(HttpMethod.Post, bed.Server.FePort, $"/api/transaction/{op}", null, headers: txn)).Body);

        Assert.Equal("TXN_NOT_EXISTS", (await Step("rollback")).GetProperty("Message").GetString());
        await Step("begin");
        await SendAsync(HttpMethod.Put, bed.Server.BePort, "/api/transaction/load", "1\ta\t1\t2026-01-01\n", headers: [.. txn, ("columns", Columns)]);
        Assert.Equal("OK", (await Step("rollback")).GetProperty("Status").GetString());
        Assert.Equal("TXN_NOT_EXISTS", (await Step("commit")).GetProperty("Message").GetString());
        Assert.Equal(0, await bed.CountAsync("s"));
        Assert.Equal("OK", (await Step("begin")).GetProperty("Status").GetString());
    }

    [Fact]
    public async Task A_database_takes_no_more_running_transactions_than_its_limit()
    {
        var database = await mariaDb.CreateDatabaseAsync("srtxn");
        await mariaDb.ExecuteAsync("CREATE TABLE s (id INT)", database);
        await using var server = new StreamLoadServer(mariaDb.ConnectionString(), MariaDbServer.User, MariaDbServer.Password) { MaxRunningTransactions = 1 }.Start();
        async Task<JsonElement> Step(string op, string label) =>
            Json((await SendAsync(HttpMethod.Post, server.FePort, $"/api/transaction/{op}", null, headers: [("label", label), ("db", database), ("table", "s")])).Body);

        Assert.Equal("OK", (await Step("begin", "a")).GetProperty("Status").GetString());
        Assert.Equal($"current running txns on db {database} is 1, larger than limit 1", (await Step("begin", "b")).GetProperty("Message").GetString());
        await Step("rollback", "a");
        Assert.Equal("OK", (await Step("begin", "b")).GetProperty("Status").GetString());
    }

    [Fact]
    public async Task A_transaction_load_must_repeat_the_format_headers_of_the_first()
    {
        await using var bed = await BedAsync(mariaDb);
        (string, string)[] txn = [("label", "fmt"), ("db", bed.Database), ("table", "s")];
        await SendAsync(HttpMethod.Post, bed.Server.FePort, "/api/transaction/begin", null, headers: txn);
        await SendAsync(HttpMethod.Put, bed.Server.BePort, "/api/transaction/load", "1\ta\t1\t2026-01-01\n", headers: [.. txn, ("columns", Columns)]);

        var second = Json((await SendAsync(HttpMethod.Put, bed.Server.BePort, "/api/transaction/load", "2,b,2,2026-01-02\n", headers: [.. txn, ("columns", Columns), ("column_separator", ",")])).Body);

        Assert.Equal("the format headers differ from this transaction's earlier loads", second.GetProperty("Message").GetString());
        Assert.Equal("TXN_NOT_EXISTS", Json((await SendAsync(HttpMethod.Post, bed.Server.FePort, "/api/transaction/commit", null, headers: txn)).Body).GetProperty("Message").GetString()); // rolled back
    }
}
