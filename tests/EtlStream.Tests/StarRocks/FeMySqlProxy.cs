using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.RegularExpressions;
using Azure;
using Azure.Storage;
using Azure.Storage.Blobs;
using MySqlConnector;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// A strict stand-in for a StarRocks FE's MySQL port, written from ../shared/STREAMLOAD.md (last sections): a TCP proxy in
/// front of the MariaDB test server that pipes the handshake and every command through untouched, and intercepts the
/// COM_QUERY packets (command 0x03 at sequence 0) that StarRocks handles differently from MariaDB:
/// <list type="bullet">
/// <item><c>INSERT INTO db.t WITH LABEL l (cols) SELECT … FROM FILES(…) [WHERE …]</c>: the properties are validated
/// (path and format required, known keys only, complete credential pairs, the <c>wasbs://container@account.blob.core.windows.net/blob</c>
/// form), the blob is fetched from Azurite with the statement's own credentials, decompressed by its suffix, its raw CSV
/// fields loaded into a scratch table <c>c1..cn</c> of text, and the SELECT run with <c>$k</c> → <c>ck</c>; the rows and
/// the label (in <see cref="StreamLoadServer.LabelTable"/>, the table the Stream Load server uses: labels are one
/// namespace) commit in one MariaDB transaction. A used label is refused as StarRocks words it.</item>
/// <item><c>SELECT … FROM information_schema.loads WHERE DATABASE_NAME = … AND LABEL = …</c> and <c>SHOW LOAD [FROM db] WHERE LABEL = …</c>:
/// rewritten into a MariaDB query over the label table, so MariaDB itself writes the result set.</item>
/// <item><c>ALTER TABLE a SWAP WITH b</c>: rewritten into <c>RENAME TABLE a TO tmp, b TO a, tmp TO b</c> (atomic in MariaDB).</item>
/// </list>
/// Clients must connect with <c>SslMode=None</c> and without compression (the proxy reads packets in the clear).
/// Fault: <see cref="DropReplyAfterCommit"/> closes the client's connection after an INSERT's commit, before its reply.
/// </summary>
public sealed partial class FeMySqlProxy : IAsyncDisposable
{
    private const int ClientCompress = 0x20;
    private const int ClientSsl = 0x800;
    private const int ClientSessionTrack = 1 << 23;

    private static readonly HashSet<string> KnownProperties = new(StringComparer.Ordinal)
    {
        "path", "format", "compression", "csv.skip_header", "csv.column_separator", "csv.row_delimiter", "csv.enclose", "csv.escape", "csv.trim_space",
        "azure.blob.storage_account", "azure.blob.shared_key", "azure.blob.container", "azure.blob.sas_token",
        "aws.s3.region", "aws.s3.endpoint", "aws.s3.access_key", "aws.s3.secret_key", "aws.s3.enable_path_style_access", "aws.s3.use_instance_profile",
    };

    private readonly int _mariaDbPort;
    private readonly string _mariaDb;
    private readonly Func<string, Uri?> _accountEndpoint;
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentBag<Task> _sessions = [];
    private int _dropReplies;
    private Task? _accept;

    /// <param name="mariaDbPort">The MariaDB test server's port, behind the proxy.</param>
    /// <param name="mariaDb">A MariaDB connection string (no database) the proxy runs intercepted statements with.</param>
    /// <param name="accountEndpoint">Maps a storage account (the host in <c>wasbs://</c>) to its blob endpoint (Azurite's <c>http://127.0.0.1:p/account</c>).</param>
    public FeMySqlProxy(int mariaDbPort, string mariaDb, Func<string, Uri?> accountEndpoint)
    {
        _mariaDbPort = mariaDbPort;
        _mariaDb = mariaDb;
        _accountEndpoint = accountEndpoint;
    }

    public int Port { get; private set; }

    /// <summary>Every intercepted statement's first line, and what the proxy did, in arrival order.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    /// <summary>INSERT … FROM FILES statements committed.</summary>
    public int InsertsCommitted => _inserts;

    private int _inserts;

    /// <summary>
    /// The next <paramref name="count"/> label-state questions answer LOADING (for a label the server has), as a cluster
    /// still running a load does: the client must poll until FINISHED.
    /// </summary>
    public void ReportLoading(int count) => Interlocked.Exchange(ref _loadingReports, count);

    private int _loadingReports;

    /// <summary>Closes the client's connection after the next <paramref name="count"/> INSERT commits, before their replies.</summary>
    public void DropReplyAfterCommit(int count) => Interlocked.Exchange(ref _dropReplies, count);

    /// <summary>
    /// The next INSERT is taken and never answered, and from then on nothing is answered on any connection, old or new
    /// (new ones get no greeting): an FE that hung, or a network that black-holes it, while a statement ran.
    /// </summary>
    public void FreezeOnInsert() => Interlocked.Exchange(ref _freezeOnInsert, 1);

    private int _freezeOnInsert;
    private volatile bool _frozen;

    public FeMySqlProxy Start()
    {
        _listener.Start();
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        _accept = AcceptAsync();
        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        try
        {
            await Task.WhenAll(_sessions.Append(_accept ?? Task.CompletedTask)).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or SocketException or IOException or ObjectDisposedException)
        {
            // stopping
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try
            {
                client = await _listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _sessions.Add(Task.Run(() => SessionAsync(client)));
        }
    }

    private async Task SessionAsync(Socket clientSocket)
    {
        using var server = new TcpClient();
        using var closer = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        var token = closer.Token;
        try
        {
            if (_frozen)
            {
                await Task.Delay(Timeout.Infinite, token); // accepted, and silent until the proxy stops
            }

            await server.ConnectAsync(IPAddress.Loopback, _mariaDbPort, token);
            await using var client = new NetworkStream(clientSocket, ownsSocket: true);
            var upstream = server.GetStream();
            var toClient = new SemaphoreSlim(1, 1);
            var session = new Session(client, toClient);

            // Server → client: raw bytes; the server only speaks when asked, so an intercepted reply never interleaves.
            var down = Task.Run(async () =>
            {
                var buffer = new byte[64 * 1024];
                while (true)
                {
                    var n = await upstream.ReadAsync(buffer, token);
                    if (n == 0)
                    {
                        return;
                    }

                    await toClient.WaitAsync(token);
                    try
                    {
                        await client.WriteAsync(buffer.AsMemory(0, n), token);
                    }
                    finally
                    {
                        toClient.Release();
                    }
                }
            }, token);

            var handshakeSeen = false;
            while (true)
            {
                var packet = await ReadPacketAsync(client, token);
                if (packet is null)
                {
                    break;
                }

                var (seq, payload) = packet.Value;
                if (_frozen)
                {
                    await Task.Delay(Timeout.Infinite, token);
                }

                if (!handshakeSeen)
                {
                    handshakeSeen = true;
                    var caps = payload.Length >= 4 ? BinaryPrimitives.ReadInt32LittleEndian(payload) : 0;
                    if ((caps & (ClientSsl | ClientCompress)) != 0)
                    {
                        // The proxy must read statements in the clear and one packet at a time.
                        Log.Enqueue("refused: TLS or compression requested (connect with SslMode=None, no compression)");
                        break;
                    }

                    session.Capabilities = caps;
                }
                else if (seq == 0 && payload.Length > 0 && payload[0] == 0x03)
                {
                    var sql = Encoding.UTF8.GetString(payload, 1, payload.Length - 1);
                    if (sql.TrimStart().StartsWith("INSERT", StringComparison.OrdinalIgnoreCase) && Interlocked.Exchange(ref _freezeOnInsert, 0) == 1)
                    {
                        _frozen = true;
                        Log.Enqueue("frozen: " + sql.TrimStart().Split('\n')[0]);
                        await Task.Delay(Timeout.Infinite, token);
                    }

                    var action = await InterceptAsync(session, sql, token);
                    if (action.Forward is { } rewritten)
                    {
                        payload = [0x03, .. Encoding.UTF8.GetBytes(rewritten)];
                    }
                    else if (action.Handled)
                    {
                        if (action.CloseConnection)
                        {
                            break;
                        }

                        continue;
                    }
                }

                await WritePacketAsync(upstream, seq, payload, token);
            }

            await closer.CancelAsync();
            try
            {
                await down;
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException)
            {
                // closed
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or SocketException or ObjectDisposedException or EndOfStreamException)
        {
            // a side went away
        }
        finally
        {
            clientSocket.Dispose();
        }
    }

    private sealed class Session(NetworkStream client, SemaphoreSlim toClient)
    {
        public NetworkStream Client { get; } = client;

        public SemaphoreSlim ToClient { get; } = toClient;

        public int Capabilities { get; set; }
    }

    /// <summary>What to do with a COM_QUERY: forward it (rewritten or not), or it was answered here (and maybe the connection must close).</summary>
    private readonly record struct Interception(bool Handled, string? Forward, bool CloseConnection)
    {
        public static Interception PassThrough => default;
    }

    private async Task<Interception> InterceptAsync(Session session, string sql, CancellationToken token)
    {
        var text = sql.Trim().TrimEnd(';');
        if (InsertFromFiles().Match(text) is { Success: true } insert)
        {
            Log.Enqueue("INSERT FILES " + insert.Groups["label"].Value);
            return await InsertAsync(session, insert, token);
        }

        if (text.Contains("FILES(", StringComparison.OrdinalIgnoreCase) && text.StartsWith("INSERT", StringComparison.OrdinalIgnoreCase))
        {
            await ErrorAsync(session, 1064, "42000", "Getting syntax error: the test server takes INSERT INTO db.t WITH LABEL l (cols) SELECT ... FROM FILES(...) [WHERE ...]", token);
            return new Interception(true, null, false);
        }

        if (LoadsQuery().Match(text) is { Success: true } loads)
        {
            Log.Enqueue("LOADS " + loads.Groups["label"].Value);
            return new Interception(false, await LoadStateSqlAsync(loads.Groups["db"].Value, loads.Groups["label"].Value, loads.Groups["columns"].Value, token), false);
        }

        if (ShowLoad().Match(text) is { Success: true } show)
        {
            Log.Enqueue("SHOW LOAD " + show.Groups["label"].Value);
            var db = show.Groups["db"].Success ? show.Groups["db"].Value.Trim('`') : null;
            if (db is null)
            {
                await ErrorAsync(session, 1046, "3D000", "No database selected", token);
                return new Interception(true, null, false);
            }

            return new Interception(false, await LoadStateSqlAsync(db, show.Groups["label"].Value, "SHOW", token), false);
        }

        if (Swap().Match(text) is { Success: true } swap)
        {
            Log.Enqueue($"SWAP {swap.Groups["a"].Value} {swap.Groups["b"].Value}");
            var a = swap.Groups["a"].Value;
            var b = swap.Groups["b"].Value;
            var tmp = a.EndsWith('`') ? a[..^1] + "__swap`" : a + "__swap";
            return new Interception(false, $"RENAME TABLE {a} TO {tmp}, {b} TO {a}, {tmp} TO {b}", false);
        }

        return Interception.PassThrough;
    }

    /// <summary>A MariaDB query answering a label-state question from the label table, with StarRocks' column names.</summary>
    private async Task<string> LoadStateSqlAsync(string db, string label, string columns, CancellationToken token)
    {
        var exists = false;
        await using (var c = new MySqlConnection(_mariaDb))
        {
            await c.OpenAsync(token);
            await using var cmd = new MySqlCommand("SELECT COUNT(*) FROM information_schema.tables WHERE TABLE_SCHEMA = @db AND TABLE_NAME = @t", c);
            cmd.Parameters.AddWithValue("@db", db);
            cmd.Parameters.AddWithValue("@t", StreamLoadServer.LabelTable);
            exists = Convert.ToInt64(await cmd.ExecuteScalarAsync(token), CultureInfo.InvariantCulture) > 0;
        }

        var state = exists && Interlocked.Decrement(ref _loadingReports) >= 0 ? "LOADING" : "FINISHED";
        if (state == "FINISHED")
        {
            Interlocked.Exchange(ref _loadingReports, 0);
        }

        var select = columns == "SHOW"
            ? $"txn_id AS JobId, label AS Label, '{state}' AS State, 'INSERT' AS Type, row_count AS SinkRows, NULL AS ErrorMsg"
            : string.Join(", ", columns.Split(',').Select(c => c.Trim().ToUpperInvariant() switch
            {
                "STATE" => $"'{state}' AS STATE",
                "SINK_ROWS" => "row_count AS SINK_ROWS",
                "LABEL" => "label AS LABEL",
                "DATABASE_NAME" => $"{Quote(db)} AS DATABASE_NAME",
                "TYPE" => "'INSERT' AS TYPE",
                "JOB_ID" => "txn_id AS JOB_ID",
                "ERROR_MSG" => "NULL AS ERROR_MSG",
                var other => throw new NotSupportedException($"information_schema.loads column {other} is not served by the test server"),
            }));
        return exists
            ? $"SELECT {select} FROM `{db.Replace("`", "``", StringComparison.Ordinal)}`.`{StreamLoadServer.LabelTable}` WHERE label = {Quote(label)}"
            : $"SELECT {select.Replace("row_count", "0", StringComparison.Ordinal).Replace("txn_id", "0", StringComparison.Ordinal).Replace("label AS", "'' AS", StringComparison.Ordinal)} FROM DUAL WHERE FALSE";
    }

    private async Task<Interception> InsertAsync(Session session, Match insert, CancellationToken token)
    {
        var label = insert.Groups["label"].Value;
        var target = insert.Groups["target"].Value;
        var dot = target.IndexOf("`.`", StringComparison.Ordinal);
        if (!target.StartsWith('`') || dot < 0)
        {
            await ErrorAsync(session, 1064, "42000", "the test server takes the target as `db`.`table`", token);
            return new Interception(true, null, false);
        }

        var db = target[1..dot];
        string select, where;
        Dictionary<string, string> properties;
        try
        {
            (select, properties, where) = SplitFiles(insert.Groups["rest"].Value);
        }
        catch (FormatException e)
        {
            await ErrorAsync(session, 1064, "42000", "Getting syntax error: " + e.Message, token);
            return new Interception(true, null, false);
        }

        byte[] csv;
        try
        {
            csv = await FetchAsync(properties, token);
        }
        catch (FilesException e)
        {
            await ErrorAsync(session, 1064, "HY000", e.Message, token);
            return new Interception(true, null, false);
        }

        await using var c = new MySqlConnection(new MySqlConnectionStringBuilder(_mariaDb) { Database = db, Pooling = false }.ConnectionString);
        await c.OpenAsync(token);
        await Exec(c, $"CREATE TABLE IF NOT EXISTS `{StreamLoadServer.LabelTable}` (label VARCHAR(128) PRIMARY KEY, table_name VARCHAR(64) NOT NULL, txn_id BIGINT NOT NULL, row_count BIGINT NOT NULL)", token);
        if (Convert.ToInt64(await Scalar(c, $"SELECT COUNT(*) FROM `{StreamLoadServer.LabelTable}` WHERE label = {Quote(label)}", token), CultureInfo.InvariantCulture) > 0)
        {
            await ErrorAsync(session, 1064, "HY000", $"Label [{label}] has already been used.", token);
            return new Interception(true, null, false);
        }

        long rows;
        try
        {
            var fields = ParseCsv(csv, properties);
            var width = fields.Count == 0 ? 1 : fields[0].Length;
            if (fields.FirstOrDefault(r => r.Length != width) is { } odd)
            {
                throw new FilesException($"Insert has filtered data in strict mode: Value count does not match column count. Expect {width}, but got {odd.Length}");
            }

            await Exec(c, $"CREATE TEMPORARY TABLE `_files_scratch` ({string.Join(", ", Enumerable.Range(1, width).Select(i => $"c{i} LONGTEXT"))}) CHARACTER SET utf8mb4 COLLATE utf8mb4_bin", token);
            await LoadScratchAsync(c, fields, width, token);
            await Exec(c, "START TRANSACTION", token);

            // The label row first: it takes the label's key lock, so a concurrent submission of the same label waits and then fails.
            await Exec(c, $"INSERT INTO `{StreamLoadServer.LabelTable}` (label, table_name, txn_id, row_count) VALUES ({Quote(label)}, {Quote(target[(dot + 3)..^1])}, {Environment.TickCount64}, 0)", token);
            var sql = $"INSERT INTO {target} ({insert.Groups["cols"].Value}) SELECT {Positional(select, width)} FROM `_files_scratch`" + (where.Length > 0 ? " WHERE " + Positional(where, width) : "");
            await using (var cmd = new MySqlCommand(sql, c) { CommandTimeout = 600 })
            {
                rows = await cmd.ExecuteNonQueryAsync(token);
            }

            await Exec(c, $"UPDATE `{StreamLoadServer.LabelTable}` SET row_count = {rows} WHERE label = {Quote(label)}", token);
            await Exec(c, "COMMIT", token);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.DuplicateKeyEntry && e.Message.Contains(label, StringComparison.Ordinal))
        {
            await ErrorAsync(session, 1064, "HY000", $"Label [{label}] has already been used.", token);
            return new Interception(true, null, false);
        }
        catch (MySqlException e)
        {
            // A value the target column does not take: StarRocks' strict INSERT filters its row and fails the statement.
            await ErrorAsync(session, 1064, "HY000", $"Insert has filtered data in strict mode: {e.Message}", token);
            return new Interception(true, null, false);
        }
        catch (FilesException e)
        {
            await ErrorAsync(session, 1064, "HY000", e.Message, token);
            return new Interception(true, null, false);
        }

        Interlocked.Increment(ref _inserts);
        if (Interlocked.Decrement(ref _dropReplies) >= 0)
        {
            Log.Enqueue("dropped reply " + label);
            return new Interception(true, null, CloseConnection: true);
        }

        Interlocked.Exchange(ref _dropReplies, 0);
        await OkAsync(session, rows, $"{{'label':'{label}', 'status':'VISIBLE', 'txnId':'0'}}", token);
        return new Interception(true, null, false);
    }

    /// <summary>Splits what follows SELECT into the select list, the FILES() properties and the WHERE condition (quotes respected).</summary>
    internal static (string Select, Dictionary<string, string> Properties, string Where) SplitFiles(string rest)
    {
        var at = TopLevelIndexOf(rest, "FROM FILES(");
        if (at < 0)
        {
            throw new FormatException("no FROM FILES(");
        }

        var open = at + "FROM FILES(".Length;
        var close = open;
        char? quote = null;
        for (; close < rest.Length; close++)
        {
            var ch = rest[close];
            if (quote is { } q)
            {
                if (ch == '\\')
                {
                    close++;
                }
                else if (ch == q)
                {
                    quote = null;
                }
            }
            else if (ch is '"' or '\'')
            {
                quote = ch;
            }
            else if (ch == ')')
            {
                break;
            }
        }

        if (close >= rest.Length)
        {
            throw new FormatException("FILES( is not closed");
        }

        var after = rest[(close + 1)..].Trim();
        var where = after.Length == 0 ? "" : after.StartsWith("WHERE ", StringComparison.OrdinalIgnoreCase) ? after[6..] : throw new FormatException($"unexpected '{after[..Math.Min(20, after.Length)]}' after FILES(...)");
        return (rest[..at], Properties(rest[open..close]), where);
    }

    private static Dictionary<string, string> Properties(string text)
    {
        var properties = new Dictionary<string, string>(StringComparer.Ordinal);
        var tokens = new List<string>();
        var separators = new List<char>();
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (char.IsWhiteSpace(ch))
            {
                continue;
            }

            if (ch is '=' or ',')
            {
                separators.Add(ch);
                continue;
            }

            if (ch != '"')
            {
                throw new FormatException($"FILES() properties are \"key\" = \"value\" pairs; found '{ch}'");
            }

            var sb = new StringBuilder();
            for (i++; i < text.Length && text[i] != '"'; i++)
            {
                // SQL string escapes, as StarRocks reads them: \r \n \t, and any other character as itself.
                sb.Append(text[i] == '\\' && i + 1 < text.Length
                    ? text[++i] switch { 'r' => '\r', 'n' => '\n', 't' => '\t', var other => other }
                    : text[i]);
            }

            tokens.Add(sb.ToString());
        }

        if (tokens.Count % 2 != 0 || separators.Count != tokens.Count - 1 || separators.Where((s, i) => s != (i % 2 == 0 ? '=' : ',')).Any())
        {
            throw new FormatException("FILES() properties are \"key\" = \"value\" pairs separated by commas");
        }

        for (var i = 0; i < tokens.Count; i += 2)
        {
            if (!properties.TryAdd(tokens[i], tokens[i + 1]))
            {
                throw new FormatException($"property '{tokens[i]}' given twice");
            }
        }

        return properties;
    }

    /// <summary>Validates the FILES() properties as StarRocks would and fetches the blob with the credentials they carry, decompressed by suffix.</summary>
    private async Task<byte[]> FetchAsync(Dictionary<string, string> p, CancellationToken token)
    {
        foreach (var key in p.Keys)
        {
            if (!KnownProperties.Contains(key))
            {
                throw new FilesException($"Unknown property '{key}' of FILES()");
            }
        }

        if (!p.TryGetValue("path", out var path) || !p.TryGetValue("format", out var format))
        {
            throw new FilesException("FILES() requires \"path\" and \"format\"");
        }

        if (!format.Equals("csv", StringComparison.OrdinalIgnoreCase))
        {
            throw new FilesException($"format '{format}' is not served by the test server (csv only)");
        }

        var m = Wasbs().Match(path);
        if (!m.Success)
        {
            throw new FilesException($"path '{path}': the test server reads wasbs://<container>@<account>.blob.core.windows.net/<blob> only (no wildcards, no s3)");
        }

        string container = m.Groups["container"].Value, account = m.Groups["account"].Value, blob = m.Groups["blob"].Value;
        p.TryGetValue("azure.blob.storage_account", out var storageAccount);
        p.TryGetValue("azure.blob.shared_key", out var sharedKey);
        p.TryGetValue("azure.blob.container", out var sasContainer);
        p.TryGetValue("azure.blob.sas_token", out var sas);
        if (sharedKey is not null && storageAccount is null)
        {
            throw new FilesException("azure.blob.shared_key requires azure.blob.storage_account");
        }

        if (sas is not null && (sasContainer is null || storageAccount is null))
        {
            throw new FilesException("azure.blob.sas_token requires azure.blob.storage_account and azure.blob.container");
        }

        if (sharedKey is null && sas is null)
        {
            throw new FilesException("no credentials: give azure.blob.shared_key or azure.blob.sas_token");
        }

        if (sharedKey is not null && sas is not null)
        {
            throw new FilesException("give azure.blob.shared_key or azure.blob.sas_token, not both");
        }

        if (storageAccount != account || (sasContainer is not null && sasContainer != container))
        {
            throw new FilesException("the credentials' account or container is not the path's");
        }

        var endpoint = _accountEndpoint(account) ?? throw new FilesException($"storage account '{account}' is unknown");
        var blobUri = new Uri($"{endpoint.ToString().TrimEnd('/')}/{container}/{Uri.EscapeDataString(blob).Replace("%2F", "/", StringComparison.Ordinal)}");
        var client = sharedKey is not null
            ? new BlobClient(blobUri, new StorageSharedKeyCredential(account, sharedKey))
            : new BlobClient(new Uri(blobUri + "?" + sas!.TrimStart('?')));
        byte[] raw;
        try
        {
            raw = (await client.DownloadContentAsync(token)).Value.Content.ToArray();
        }
        catch (RequestFailedException e)
        {
            throw new FilesException($"Access storage error. Error message: {e.Status} {e.ErrorCode}");
        }

        return Path.GetExtension(blob).ToLowerInvariant() switch
        {
            ".gz" => await InflateAsync(new GZipStream(new MemoryStream(raw), CompressionMode.Decompress), token),
            ".zst" => await InflateAsync(new ZstdSharp.DecompressionStream(new MemoryStream(raw)), token),
            ".bz2" or ".lz4" or ".deflate" or ".zip" => throw new FilesException($"{Path.GetExtension(blob)} is not served by the test server"),
            _ => raw,
        };
    }

    private static async Task<byte[]> InflateAsync(Stream stream, CancellationToken token)
    {
        await using (stream)
        {
            using var output = new MemoryStream();
            try
            {
                await stream.CopyToAsync(output, token);
            }
            catch (InvalidDataException e)
            {
                throw new FilesException($"the file is not what its suffix says: {e.Message}");
            }

            return output.ToArray();
        }
    }

    /// <summary>RFC 4180 fields with the statement's separator and enclose; an empty field is '', <c>\N</c> is NULL; header rows skipped.</summary>
    internal static List<string?[]> ParseCsv(byte[] bytes, IReadOnlyDictionary<string, string> p)
    {
        var separator = p.GetValueOrDefault("csv.column_separator", "\t");
        var enclose = p.GetValueOrDefault("csv.enclose", "");
        var rowDelimiter = p.GetValueOrDefault("csv.row_delimiter", "\n");
        var skip = int.Parse(p.GetValueOrDefault("csv.skip_header", "0"), CultureInfo.InvariantCulture);
        if (separator.Length != 1 || enclose.Length > 1 || rowDelimiter is not ("\n" or "\r\n") || p.ContainsKey("csv.escape") || p.ContainsKey("csv.trim_space"))
        {
            throw new FilesException("the test server serves a one-character csv.column_separator, csv.enclose, csv.row_delimiter \\n or \\r\\n and no csv.escape/csv.trim_space");
        }

        var crlf = rowDelimiter == "\r\n";

        var text = Encoding.UTF8.GetString(bytes);
        var rows = new List<string?[]>();
        var row = new List<string?>();
        var field = new StringBuilder();
        var quoted = false;
        var wasQuoted = false;
        var sep = separator[0];
        char? q = enclose.Length == 1 ? enclose[0] : null;
        for (var i = 0; i <= text.Length; i++)
        {
            if (i < text.Length)
            {
                var ch = text[i];
                if (quoted)
                {
                    if (ch == q)
                    {
                        if (i + 1 < text.Length && text[i + 1] == q)
                        {
                            field.Append(ch);
                            i++;
                        }
                        else
                        {
                            quoted = false;
                        }
                    }
                    else
                    {
                        field.Append(ch);
                    }

                    continue;
                }

                if (crlf && ch == '\r' && i + 1 < text.Length && text[i + 1] == '\n')
                {
                    continue; // the CR of a CR LF row delimiter; with LF alone a CR stays in the field, as in StarRocks
                }

                if (ch == q && field.Length == 0)
                {
                    quoted = wasQuoted = true;
                    continue;
                }

                if (ch == sep)
                {
                    row.Add(Value(field, wasQuoted));
                    field.Clear();
                    wasQuoted = false;
                    continue;
                }

                if (ch != '\n')
                {
                    field.Append(ch);
                    continue;
                }
            }
            else if (field.Length == 0 && row.Count == 0 && !wasQuoted)
            {
                break; // no last line
            }

            row.Add(Value(field, wasQuoted));
            field.Clear();
            wasQuoted = false;
            if (skip > 0)
            {
                skip--;
            }
            else
            {
                rows.Add([.. row]);
            }

            row.Clear();
        }

        return rows;

        static string? Value(StringBuilder field, bool wasQuoted) => !wasQuoted && field.ToString() == "\\N" ? null : field.ToString();
    }

    private static async Task LoadScratchAsync(MySqlConnection c, List<string?[]> rows, int width, CancellationToken token)
    {
        if (rows.Count == 0)
        {
            return;
        }

        var tsv = new StringBuilder();
        foreach (var row in rows)
        {
            for (var i = 0; i < width; i++)
            {
                tsv.Append(i == 0 ? "" : "\t").Append(row[i] is null ? "\\N" : row[i]!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal));
            }

            tsv.Append('\n');
        }

        var loader = new MySqlBulkLoader(c)
        {
            TableName = "`_files_scratch`",
            Local = true,
            SourceStream = new MemoryStream(Encoding.UTF8.GetBytes(tsv.ToString())),
            FieldTerminator = "\t",
            LineTerminator = "\n",
            EscapeCharacter = '\\',
            CharacterSet = "utf8mb4",
        };
        var loaded = await loader.LoadAsync(token);
        if (loaded != rows.Count)
        {
            throw new InvalidOperationException($"scratch load took {loaded} of {rows.Count} rows");
        }
    }

    /// <summary><c>$k</c> outside string literals → <c>ck</c>; a position past the file's fields is StarRocks' error.</summary>
    internal static string Positional(string sql, int width)
    {
        var sb = new StringBuilder(sql.Length);
        char? quote = null;
        for (var i = 0; i < sql.Length; i++)
        {
            var ch = sql[i];
            if (quote is { } q)
            {
                sb.Append(ch);
                if (ch == '\\' && i + 1 < sql.Length)
                {
                    sb.Append(sql[++i]);
                }
                else if (ch == q)
                {
                    quote = null;
                }

                continue;
            }

            if (ch is '\'' or '"')
            {
                quote = ch;
                sb.Append(ch);
                continue;
            }

            if (ch == '$' && i + 1 < sql.Length && char.IsAsciiDigit(sql[i + 1]))
            {
                var j = i + 1;
                while (j < sql.Length && char.IsAsciiDigit(sql[j]))
                {
                    j++;
                }

                var k = int.Parse(sql.AsSpan(i + 1, j - i - 1), CultureInfo.InvariantCulture);
                if (k < 1 || k > width)
                {
                    throw new FilesException($"column ${k} is out of range: the file has {width} columns");
                }

                sb.Append('c').Append(k);
                i = j - 1;
                continue;
            }

            sb.Append(ch);
        }

        return sb.ToString();
    }

    private static int TopLevelIndexOf(string text, string what)
    {
        char? quote = null;
        for (var i = 0; i < text.Length; i++)
        {
            var ch = text[i];
            if (quote is { } q)
            {
                if (ch == '\\')
                {
                    i++;
                }
                else if (ch == q)
                {
                    quote = null;
                }
            }
            else if (ch is '\'' or '"')
            {
                quote = ch;
            }
            else if (string.Compare(text, i, what, 0, what.Length, StringComparison.OrdinalIgnoreCase) == 0)
            {
                return i;
            }
        }

        return -1;
    }

    private static string Quote(string value) => "'" + value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "\\'", StringComparison.Ordinal) + "'";

    private static async Task Exec(MySqlConnection c, string sql, CancellationToken token)
    {
        await using var cmd = new MySqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync(token);
    }

    private static async Task<object?> Scalar(MySqlConnection c, string sql, CancellationToken token)
    {
        await using var cmd = new MySqlCommand(sql, c);
        return await cmd.ExecuteScalarAsync(token);
    }

    private static async Task<(byte Seq, byte[] Payload)?> ReadPacketAsync(Stream s, CancellationToken token)
    {
        var header = new byte[4];
        if (!await ReadExactlyOrEndAsync(s, header, token))
        {
            return null;
        }

        var length = header[0] | (header[1] << 8) | (header[2] << 16);
        var payload = new byte[length];
        await s.ReadExactlyAsync(payload, token);
        return (header[3], payload);
    }

    private static async Task<bool> ReadExactlyOrEndAsync(Stream s, byte[] buffer, CancellationToken token)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await s.ReadAsync(buffer.AsMemory(read), token);
            if (n == 0)
            {
                return read == 0 ? false : throw new EndOfStreamException();
            }

            read += n;
        }

        return true;
    }

    private static async Task WritePacketAsync(Stream s, byte seq, byte[] payload, CancellationToken token)
    {
        var packet = new byte[4 + payload.Length];
        packet[0] = (byte)payload.Length;
        packet[1] = (byte)(payload.Length >> 8);
        packet[2] = (byte)(payload.Length >> 16);
        packet[3] = seq;
        payload.CopyTo(packet, 4);
        await s.WriteAsync(packet, token);
    }

    private static async Task ReplyAsync(Session session, byte[] payload, CancellationToken token)
    {
        await session.ToClient.WaitAsync(token);
        try
        {
            await WritePacketAsync(session.Client, 1, payload, token);
        }
        finally
        {
            session.ToClient.Release();
        }
    }

    /// <summary>An OK packet: affected rows, no insert id, autocommit status, no warnings, and the info text StarRocks sends after an INSERT.</summary>
    private static Task OkAsync(Session session, long affected, string info, CancellationToken token)
    {
        var p = new List<byte> { 0x00 };
        LengthEncoded(p, (ulong)affected);
        LengthEncoded(p, 0);
        p.AddRange([0x02, 0x00, 0x00, 0x00]);
        var infoBytes = Encoding.UTF8.GetBytes(info);
        if ((session.Capabilities & ClientSessionTrack) != 0)
        {
            LengthEncoded(p, (ulong)infoBytes.Length);
        }

        p.AddRange(infoBytes);
        return ReplyAsync(session, [.. p], token);
    }

    private static Task ErrorAsync(Session session, int code, string sqlState, string message, CancellationToken token)
    {
        var p = new List<byte> { 0xff, (byte)code, (byte)(code >> 8), (byte)'#' };
        p.AddRange(Encoding.ASCII.GetBytes(sqlState));
        p.AddRange(Encoding.UTF8.GetBytes(message));
        return ReplyAsync(session, [.. p], token);
    }

    private static void LengthEncoded(List<byte> p, ulong value)
    {
        if (value < 251)
        {
            p.Add((byte)value);
        }
        else if (value < 1 << 16)
        {
            p.AddRange([0xfc, (byte)value, (byte)(value >> 8)]);
        }
        else if (value < 1 << 24)
        {
            p.AddRange([0xfd, (byte)value, (byte)(value >> 8), (byte)(value >> 16)]);
        }
        else
        {
            p.Add(0xfe);
            p.AddRange(BitConverter.GetBytes(value));
        }
    }

    private sealed class FilesException(string message) : Exception(message);

    [GeneratedRegex(@"^INSERT\s+INTO\s+(?<target>\S+)\s+WITH\s+LABEL\s+(?<label>[A-Za-z0-9_\-]+)\s*\((?<cols>[^)]*)\)\s*SELECT\s+(?<rest>.*)$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex InsertFromFiles();

    [GeneratedRegex(@"^SELECT\s+(?<columns>[A-Za-z_,\s]+?)\s+FROM\s+information_schema\.loads\s+WHERE\s+DATABASE_NAME\s*=\s*'(?<db>[^']*)'\s+AND\s+LABEL\s*=\s*'(?<label>[^']*)'(\s+ORDER\s+BY\s+CREATE_TIME\s+DESC)?(\s+LIMIT\s+1)?$", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex LoadsQuery();

    [GeneratedRegex(@"^SHOW\s+LOAD(\s+FROM\s+(?<db>`?[A-Za-z0-9_]+`?))?\s+WHERE\s+LABEL\s*=\s*'(?<label>[^']*)'$", RegexOptions.IgnoreCase)]
    private static partial Regex ShowLoad();

    [GeneratedRegex(@"^ALTER\s+TABLE\s+(?<a>[`A-Za-z0-9_.]+)\s+SWAP\s+WITH\s+(?<b>[`A-Za-z0-9_.]+)$", RegexOptions.IgnoreCase)]
    private static partial Regex Swap();

    [GeneratedRegex(@"^wasbs://(?<container>[a-z0-9\-]{3,63})@(?<account>[a-z0-9]{3,24})\.blob\.core\.windows\.net/(?<blob>[^*?\[]+)$")]
    private static partial Regex Wasbs();
}
