using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using MySqlConnector;

namespace EtlStream.Tests.StarRocks;

/// <summary>
/// A strict stand-in for a StarRocks FE and BE, written from ../shared/STREAMLOAD.md: every MUST there is enforced
/// (Basic auth on FE and BE, <c>Expect: 100-continue</c>, the FE's 307 to the BE without reading the body, labels and
/// their statuses, <c>get_load_state</c>, the transaction endpoints, the <c>columns</c> header, column counts, VARCHAR
/// lengths in UTF-8 bytes, <c>max_filter_ratio</c>, <c>strict_mode</c>, the body size cap, error URLs), and accepted
/// rows are committed into a real MariaDB table of the same name, together with a label record, in one MariaDB
/// transaction: "committed" is real and exactly-once is checked by counting rows. Faults are injected per request.
/// Doris' two-phase commit (<c>two_phase_commit</c>, <c>_stream_load_2pc</c>) is served too.
/// </summary>
public sealed class StreamLoadServer : IAsyncDisposable
{
    public const string LabelTable = "_stream_load_labels";

    private readonly string _connectionString;
    private readonly string _authorization;
    private readonly TcpListener _fe = new(IPAddress.Loopback, 0);
    private readonly TcpListener _be = new(IPAddress.Loopback, 0);
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentQueue<StreamLoadFault> _faults = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<string, LabelEntry> _labels = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _errorLogs = new(StringComparer.Ordinal);
    private readonly ConcurrentBag<Task> _connections = [];
    private readonly Dictionary<string, Queue<DateTime>> _versions = new(StringComparer.OrdinalIgnoreCase);
    private long _txnIds = 1000;
    private long _errorLogIds;
    private Task? _acceptFe;
    private Task? _acceptBe;

    /// <param name="mariaDb">A MariaDB connection string without a database: the load's <c>db</c> is the MariaDB database.</param>
    public StreamLoadServer(string mariaDb, string user, string password)
    {
        _connectionString = mariaDb;
        _authorization = "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
    }

    public int FePort { get; private set; }

    public int BePort { get; private set; }

    /// <summary><c>streaming_load_max_mb</c>: bodies larger than this are refused.</summary>
    public long BodyCapBytes { get; init; } = 10L * 1024 * 1024 * 1024;

    /// <summary>
    /// <c>tablet_max_versions</c>: a table takes at most this many commits per <see cref="VersionWindow"/> (compaction
    /// catches up after it); more fail with "Too many versions". Small loads hit it; fewer, larger loads do not.
    /// </summary>
    public int MaxVersions { get; init; } = 1000;

    public TimeSpan VersionWindow { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary><c>max_running_txn_num_per_db</c>: loads and transactions running at once in one database.</summary>
    public int MaxRunningTransactions { get; init; } = 1000;

    /// <summary>Perf mode: bodies are read and their rows counted, nothing is parsed or committed to MariaDB.</summary>
    public bool DiscardBodies { get; init; }

    /// <summary>Every request as "<c>FE|BE METHOD path label</c>", in arrival order.</summary>
    public ConcurrentQueue<string> Log { get; } = new();

    public long LoadsCommitted;
    public long RowsCommitted;
    public long BytesReceived;

    public int PendingFaults => _faults.Count;

    public void Inject(params StreamLoadFault[] faults)
    {
        foreach (var f in faults)
        {
            _faults.Enqueue(f);
        }
    }

    /// <summary>Labels of transactions begun (or pre-committed) and not yet committed or aborted.</summary>
    public IReadOnlyList<string> OpenTransactions()
    {
        lock (_gate)
        {
            return _labels.Where(l => l.Value.State is "PREPARE" or "PREPARED" or "PRECOMMITTED").Select(l => l.Key[(l.Key.IndexOf('/', StringComparison.Ordinal) + 1)..]).ToList();
        }
    }

    public StreamLoadServer Start()
    {
        _fe.Start();
        _be.Start();
        FePort = ((IPEndPoint)_fe.LocalEndpoint).Port;
        BePort = ((IPEndPoint)_be.LocalEndpoint).Port;
        _acceptFe = AcceptAsync(_fe, frontend: true);
        _acceptBe = AcceptAsync(_be, frontend: false);
        return this;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _fe.Stop();
        _be.Stop();
        try
        {
            await Task.WhenAll(new[] { _acceptFe, _acceptBe }.OfType<Task>()).WaitAsync(TimeSpan.FromSeconds(5));
            await Task.WhenAll(_connections).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is OperationCanceledException or TimeoutException or SocketException or ObjectDisposedException)
        {
            // stopping
        }

        lock (_gate)
        {
            foreach (var entry in _labels.Values)
            {
                entry.Connection?.Dispose();
            }
        }

        _stop.Dispose();
    }

    private async Task AcceptAsync(TcpListener listener, bool frontend)
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await listener.AcceptSocketAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }

            _connections.Add(Task.Run(() => ServeAsync(socket, frontend)));
        }
    }

    private async Task ServeAsync(Socket socket, bool frontend)
    {
        using var http = new StreamLoadHttp(socket);
        var token = _stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var request = await http.ReadRequestAsync(token);
                if (request is null)
                {
                    return;
                }

                Log.Enqueue($"{(frontend ? "FE" : "BE")} {request.Method} {request.Path} {request.Header("label") ?? request.Query.GetValueOrDefault("label") ?? ""}");
                var keepOpen = await HandleAsync(http, request, frontend, token);
                if (!keepOpen)
                {
                    return;
                }
            }
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or EndOfStreamException or InvalidDataException)
        {
            // the client went away (or we reset it on purpose)
        }
    }

    /// <summary>Serves one request; false when the connection must not be reused (a body left unread, a reset).</summary>
    private async Task<bool> HandleAsync(StreamLoadHttp http, StreamLoadRequest request, bool frontend, CancellationToken token)
    {
        // MUST: Basic auth on every request, FE and BE.
        if (!string.Equals(request.Header("Authorization"), _authorization, StringComparison.Ordinal))
        {
            await http.RespondAsync(401, "Unauthorized", Json(new { Status = "FAILED", Message = "Access denied: no valid Basic authorization" }), close: true, token);
            return false;
        }

        var path = request.Path;
        var segments = path.Trim('/').Split('/');
        var isStreamLoad = request.Method == "PUT" && segments is ["api", _, _, "_stream_load"];
        var isTxnLoad = request.Method == "PUT" && path == "/api/transaction/load";
        if (isStreamLoad || isTxnLoad)
        {
            // MUST (StarRocks): Expect: 100-continue, checked before any redirect.
            if (!request.ExpectsContinue)
            {
                await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Message = "There is no 100-continue header" }), close: true, token);
                return false;
            }

            if (frontend)
            {
                // The FE never reads the body: 307 to the BE, and the connection is closed.
                var location = $"http://127.0.0.1:{BePort}{path}{(request.Query.Count > 0 ? "?" + string.Join('&', request.Query.Select(q => $"{q.Key}={Uri.EscapeDataString(q.Value)}")) : "")}";
                await http.RespondAsync(307, "Temporary Redirect", "", close: true, token, ("Location", location));
                return false;
            }

            return await LoadAsync(http, request, isTxnLoad ? null : (segments[1], segments[2]), token);
        }

        if (!frontend && request.Method == "GET" && path == "/api/_load_error_log")
        {
            var found = _errorLogs.TryGetValue(request.Query.GetValueOrDefault("file") ?? "", out var text);
            await http.RespondAsync(found ? 200 : 404, found ? "OK" : "Not Found", text ?? "", close: false, token);
            return true;
        }

        if (!frontend)
        {
            await http.RespondAsync(404, "Not Found", "", close: true, token);
            return false;
        }

        // FE endpoints: no body of interest (any body is drained).
        if (request.ContentLength > 0)
        {
            if (request.ExpectsContinue)
            {
                await http.SendContinueAsync(token);
            }

            await http.ReadBodyAsync(request.ContentLength, token);
        }

        if (request.Method == "GET" && segments is ["api", _, "get_load_state"])
        {
            await http.RespondAsync(200, "OK", LoadState(segments[1], request.Query.GetValueOrDefault("label") ?? ""), close: false, token);
            return true;
        }

        if (request.Method == "POST" && segments is ["api", "transaction", var op] && op is "begin" or "prepare" or "commit" or "rollback")
        {
            return await TransactionAsync(http, request, op, token);
        }

        if (request.Method == "PUT" && segments is ["api", _, _, "_stream_load_2pc"])
        {
            return await TwoPhaseAsync(http, request, segments[1], token);
        }

        await http.RespondAsync(404, "Not Found", "", close: true, token);
        return false;
    }

    private StreamLoadFault? TakeFault(string path)
    {
        // Only the head of the queue is considered: faults happen in the order a test queued them.
        if (_faults.TryPeek(out var next) && path.Contains(next.PathContains, StringComparison.Ordinal) && _faults.TryDequeue(out var fault))
        {
            return fault;
        }

        return null;
    }

    /// <summary>A load: <paramref name="target"/> (db, table) for <c>_stream_load</c>, null for <c>transaction/load</c>.</summary>
    private async Task<bool> LoadAsync(StreamLoadHttp http, StreamLoadRequest request, (string Db, string Table)? target, CancellationToken token)
    {
        var fault = TakeFault(request.Path);
        if (fault?.Kind == StreamLoadFaultKind.ServiceUnavailable)
        {
            await http.RespondAsync(503, "Service Unavailable", "", close: true, token);
            return false;
        }

        if (fault?.Kind == StreamLoadFaultKind.ConcurrencyLimit)
        {
            await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Message = "Stream Load exceed http cuncurrent limit, please try again later" }), close: true, token);
            AbortTransactionOf(request, target);
            return false;
        }

        var label = request.Header("label") ?? "";
        if (!IsValidLabel(label))
        {
            await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Message = $"Label [{label}] is invalid: letters, digits, '_' and '-', at most 128" }), close: true, token);
            return false;
        }

        if (request.Header("Transfer-Encoding") is not null || request.Header("Content-Length") is null)
        {
            await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Label = label, Message = "Content-Length is required: send the body buffered" }), close: true, token);
            return false;
        }

        if (request.ContentLength > BodyCapBytes)
        {
            await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Label = label, Message = $"body size {request.ContentLength} exceed limit {BodyCapBytes} (streaming_load_max_mb)" }), close: true, token);
            return false;
        }

        await http.SendContinueAsync(token);
        var body = await http.ReadBodyAsync(request.ContentLength, token);
        Interlocked.Add(ref BytesReceived, body.Length);
        if (fault?.Kind == StreamLoadFaultKind.ResetBeforeCommit)
        {
            AbortTransactionOf(request, target); // the BE's load broke: a transaction load aborts its transaction
            http.Reset();
            return false;
        }

        var twoPhase = string.Equals(request.Header("two_phase_commit"), "true", StringComparison.OrdinalIgnoreCase);
        var (status, reply) = target is { } t
            ? await StreamLoadAsync(request, label, t.Db, t.Table, body, twoPhase, fault, token)
            : await TransactionLoadAsync(request, label, body, token);
        return await ReplyAsync(http, status, reply, fault, token);
    }

    private async Task<bool> ReplyAsync(StreamLoadHttp http, string status, object reply, StreamLoadFault? fault, CancellationToken token)
    {
        var committed = status is "Success" or "OK";
        switch (fault?.Kind)
        {
            case StreamLoadFaultKind.ResetAfterCommit when committed:
                http.Reset();
                return false;
            case StreamLoadFaultKind.SlowReply:
                await Task.Delay(fault.Delay, token);
                break;
        }

        await http.RespondAsync(200, "OK", Json(reply), close: false, token);
        return true;
    }

    private async Task<(string Status, object Reply)> StreamLoadAsync(
        StreamLoadRequest request, string label, string db, string table, byte[] body, bool twoPhase, StreamLoadFault? fault, CancellationToken token)
    {
        var key = $"{db}/{label}";
        LabelEntry entry;
        lock (_gate)
        {
            var existing = Find(key, db, label);
            if (existing is { State: "VISIBLE" or "COMMITTED" })
            {
                return ("Label Already Exists", new { Status = "Label Already Exists", Label = label, ExistingJobStatus = "FINISHED", Message = $"Label [{label}] has already been used." });
            }

            if (existing is { State: "PREPARE" or "PREPARED" or "PRECOMMITTED" })
            {
                return ("Label Already Exists", new { Status = "Label Already Exists", Label = label, ExistingJobStatus = existing.State == "PRECOMMITTED" ? "PRECOMMITTED" : "RUNNING", Message = $"Label [{label}] has already been used." });
            }

            if (RunningLimit(db) is { } busy)
            {
                return ("FAILED", new { Status = "FAILED", Label = label, Message = busy });
            }

            entry = _labels[key] = new LabelEntry(db, table, Interlocked.Increment(ref _txnIds)) { State = "PREPARE" };
        }

        try
        {
            var parsed = await ParseAsync(request, db, table, body, token);
            if (parsed.Error is not null)
            {
                Abort(key, entry);
                return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = parsed.Error });
            }

            var loaded = parsed.Body!;
            var errorUrl = ErrorUrl(label, loaded);
            var ratio = MaxFilterRatio(request);
            if (loaded.TotalRows > 0 && (double)loaded.Errors.Count / loaded.TotalRows > ratio)
            {
                Abort(key, entry);
                return ("FAILED", Reply(entry, label, "FAILED", "too many filtered rows", loaded, errorUrl));
            }

            entry.Connection = await OpenAsync(db, token);
            await AppendAsync(entry, table, loaded, token);
            entry.Rows += loaded.LoadedRows;
            if (twoPhase)
            {
                lock (_gate)
                {
                    entry.State = "PRECOMMITTED";
                }

                return ("Success", Reply(entry, label, "Success", "OK", loaded, errorUrl));
            }

            if (fault?.Kind == StreamLoadFaultKind.LabelRunning)
            {
                // The load stays open; polls decide its fate (see StreamLoadFaultKind.LabelRunning).
                entry.PollsLeft = fault.Polls;
                entry.ThenCommits = fault.ThenCommits;
                return ("Label Already Exists", new { Status = "Label Already Exists", Label = label, ExistingJobStatus = "RUNNING", Message = $"Label [{label}] has already been used." });
            }

            if (TooManyVersions(db, table) is { } versions)
            {
                Abort(key, entry);
                return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = versions });
            }

            await CommitAsync(key, entry, token);
            var status = fault?.Kind == StreamLoadFaultKind.PublishTimeout ? "Publish Timeout" : "Success";
            return (status, Reply(entry, label, status, status == "Success" ? "OK" : "transaction commit successfully, BUT data will be visible later", loaded, errorUrl));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Abort(key, entry);
            return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = e.Message });
        }
    }

    private async Task<(string Status, object Reply)> TransactionLoadAsync(StreamLoadRequest request, string label, byte[] body, CancellationToken token)
    {
        var db = request.Header("db") ?? "";
        var table = request.Header("table") ?? "";
        var key = $"{db}/{label}";
        LabelEntry? entry;
        lock (_gate)
        {
            _labels.TryGetValue(key, out entry);
            if (entry is not { State: "PREPARE" } || !entry.Table.Equals(table, StringComparison.OrdinalIgnoreCase) || entry.Busy)
            {
                var why = entry is null ? "TXN_NOT_EXISTS" : entry.Busy ? "TXN_IN_PROCESSING" : $"transaction {label} is {entry.State}, not PREPARE";
                return ("FAILED", new { Label = label, Status = "FAILED", Message = why });
            }

            entry.Busy = true;
        }

        try
        {
            var headers = FormatHeaders(request);
            if ((entry.FormatHeaders ??= headers) != headers)
            {
                Abort(key, entry);
                return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = "the format headers differ from this transaction's earlier loads" });
            }

            var parsed = await ParseAsync(request, db, table, body, token);
            if (parsed.Error is not null)
            {
                Abort(key, entry);
                return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = parsed.Error });
            }

            var loaded = parsed.Body!;
            var errorUrl = ErrorUrl(label, loaded);
            if (loaded.TotalRows > 0 && (double)loaded.Errors.Count / loaded.TotalRows > MaxFilterRatio(request))
            {
                Abort(key, entry); // an error in a load rolls the transaction back
                return ("FAILED", Reply(entry, label, "FAILED", "too many filtered rows", loaded, errorUrl));
            }

            await AppendAsync(entry, table, loaded, token);
            entry.Rows += loaded.LoadedRows;
            return ("OK", Reply(entry, label, "OK", "", loaded, errorUrl));
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            Abort(key, entry);
            return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = e.Message });
        }
        finally
        {
            lock (_gate)
            {
                entry.Busy = false;
            }
        }
    }

    private async Task<bool> TransactionAsync(StreamLoadHttp http, StreamLoadRequest request, string op, CancellationToken token)
    {
        var fault = TakeFault(request.Path);
        if (fault?.Kind == StreamLoadFaultKind.ServiceUnavailable)
        {
            await http.RespondAsync(503, "Service Unavailable", "", close: true, token);
            return false;
        }

        if (fault?.Kind == StreamLoadFaultKind.ResetBeforeCommit)
        {
            http.Reset();
            return false;
        }

        if (fault?.Kind == StreamLoadFaultKind.ConcurrencyLimit)
        {
            await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Message = "Stream Load exceed http cuncurrent limit, please try again later" }), close: true, token);
            return false;
        }

        var label = request.Header("label") ?? "";
        var db = request.Header("db") ?? "";
        var table = request.Header("table") ?? "";
        if (!IsValidLabel(label) || db.Length == 0 || table.Length == 0)
        {
            await http.RespondAsync(200, "OK", Json(new { Status = "FAILED", Label = label, Message = "label, db and table headers are required; Label is invalid or missing" }), close: false, token);
            return true;
        }

        var key = $"{db}/{label}";
        (string Status, object Reply) result;
        try
        {
            result = op switch
            {
                "begin" => await BeginAsync(key, db, table, label, token),
                "prepare" => Prepare(key, label),
                "commit" => await CommitTransactionAsync(key, label, token),
                _ => Rollback(key, label),
            };
        }
        catch (MySqlException e)
        {
            result = ("FAILED", new { Label = label, Status = "FAILED", Message = e.Message });
        }

        if (fault?.Kind == StreamLoadFaultKind.PublishTimeout && op == "commit" && result.Status == "OK")
        {
            result = ("OK", new { Label = label, Status = "Publish Timeout", Message = "transaction commit successfully, BUT data will be visible later" });
        }

        return await ReplyAsync(http, result.Status, result.Reply, fault, token);
    }

    private async Task<(string, object)> BeginAsync(string key, string db, string table, string label, CancellationToken token)
    {
        LabelEntry entry;
        lock (_gate)
        {
            var existing = Find(key, db, label);
            if (existing is { State: "VISIBLE" or "COMMITTED" })
            {
                return ("LABEL_ALREADY_EXISTS", new { Label = label, Status = "LABEL_ALREADY_EXISTS", ExistingJobStatus = "FINISHED", Message = $"Label [{label}] has already been used." });
            }

            if (existing is { State: "PREPARE" or "PREPARED" })
            {
                return ("LABEL_ALREADY_EXISTS", new { Label = label, Status = "LABEL_ALREADY_EXISTS", ExistingJobStatus = "RUNNING", Message = $"Label [{label}] has already been used." });
            }

            if (RunningLimit(db) is { } busy)
            {
                return ("FAILED", new { Label = label, Status = "FAILED", Message = busy });
            }

            entry = _labels[key] = new LabelEntry(db, table, Interlocked.Increment(ref _txnIds)) { State = "PREPARE", Busy = true };
        }

        try
        {
            await ColumnsAsync(db, table, token); // the table must exist
            entry.Connection = await OpenAsync(db, token);
        }
        catch (Exception e) when (e is MySqlException or InvalidOperationException)
        {
            Abort(key, entry);
            return ("FAILED", new { Label = label, Status = "FAILED", Message = e.Message });
        }
        finally
        {
            lock (_gate)
            {
                entry.Busy = false;
            }
        }

        return ("OK", new { TxnId = entry.TxnId, Label = label, Status = "OK", Message = "" });
    }

    private (string, object) Prepare(string key, string label)
    {
        lock (_gate)
        {
            if (!_labels.TryGetValue(key, out var entry) || entry.State is "ABORTED")
            {
                return ("FAILED", new { Label = label, Status = "FAILED", Message = "TXN_NOT_EXISTS" });
            }

            if (entry.Busy)
            {
                return ("FAILED", new { Label = label, Status = "TXN_IN_PROCESSING", Message = "a load of this transaction is running" });
            }

            if (entry.State is "VISIBLE")
            {
                return ("FAILED", new { Label = label, Status = "FAILED", Message = $"transaction {label} is already VISIBLE" });
            }

            entry.State = "PREPARED";
            return ("OK", new { TxnId = entry.TxnId, Label = label, Status = "OK", Message = "" });
        }
    }

    private async Task<(string, object)> CommitTransactionAsync(string key, string label, CancellationToken token)
    {
        LabelEntry? entry;
        lock (_gate)
        {
            if (!_labels.TryGetValue(key, out entry) || entry.State is "ABORTED")
            {
                return ("FAILED", new { Label = label, Status = "FAILED", Message = "TXN_NOT_EXISTS" });
            }

            if (entry.State is "VISIBLE")
            {
                return ("OK", new { TxnId = entry.TxnId, Label = label, Status = "OK", Message = "Transaction already commited" });
            }

            if (entry.Busy)
            {
                return ("FAILED", new { Label = label, Status = "TXN_IN_PROCESSING", Message = "a load of this transaction is running" });
            }

            entry.Busy = true;
        }

        try
        {
            if (TooManyVersions(entry.Db, entry.Table) is { } versions)
            {
                // Not rolled back: a commit that failed for versions may be retried once compaction caught up.
                return ("FAILED", new { TxnId = entry.TxnId, Label = label, Status = "FAILED", Message = versions });
            }

            await CommitAsync(key, entry, token);
        }
        finally
        {
            lock (_gate)
            {
                entry.Busy = false;
            }
        }

        return ("OK", new { TxnId = entry.TxnId, Label = label, Status = "OK", Message = "" });
    }

    private (string, object) Rollback(string key, string label)
    {
        lock (_gate)
        {
            if (!_labels.TryGetValue(key, out var entry) || entry.State is "ABORTED")
            {
                return ("FAILED", new { Label = label, Status = "FAILED", Message = "TXN_NOT_EXISTS" });
            }

            if (entry.State is "VISIBLE")
            {
                return ("FAILED", new { Label = label, Status = "FAILED", Message = $"transaction {label} is VISIBLE and cannot be rolled back" });
            }
        }

        Abort(key, _labels[key]);
        return ("OK", new { Label = label, Status = "OK", Message = "" });
    }

    /// <summary>Doris: <c>txn_operation: commit|abort</c> on a pre-committed load, named by <c>txn_id</c> or <c>label</c>.</summary>
    private async Task<bool> TwoPhaseAsync(StreamLoadHttp http, StreamLoadRequest request, string db, CancellationToken token)
    {
        var fault = TakeFault(request.Path);
        if (fault?.Kind == StreamLoadFaultKind.ResetBeforeCommit)
        {
            http.Reset();
            return false;
        }

        var op = request.Header("txn_operation")?.ToLowerInvariant();
        KeyValuePair<string, LabelEntry> found;
        lock (_gate)
        {
            found = _labels.FirstOrDefault(l => l.Value.Db == db &&
                (request.Header("txn_id") is { } id ? l.Value.TxnId.ToString(CultureInfo.InvariantCulture) == id : l.Key == $"{db}/{request.Header("label")}"));
        }

        (string, object) result;
        if (found.Value is null || found.Value.State is "ABORTED")
        {
            result = ("FAILED", new { status = "FAILED", msg = "transaction not found" });
        }
        else if (op == "commit")
        {
            if (found.Value.State is "VISIBLE")
            {
                result = ("FAILED", new { status = "FAILED", msg = $"transaction [{found.Value.TxnId}] is already visible, not pre-committed." });
            }
            else
            {
                await CommitAsync(found.Key, found.Value, token);
                result = ("Success", new { status = "Success", msg = $"transaction [{found.Value.TxnId}] commit successfully." });
            }
        }
        else if (op == "abort" && found.Value.State is not "VISIBLE")
        {
            Abort(found.Key, found.Value);
            result = ("Success", new { status = "Success", msg = $"transaction [{found.Value.TxnId}] abort successfully." });
        }
        else
        {
            result = ("FAILED", new { status = "FAILED", msg = $"txn_operation '{op}' cannot apply" });
        }

        return await ReplyAsync(http, result.Item1, result.Item2, fault, token);
    }

    private string LoadState(string db, string label)
    {
        var key = $"{db}/{label}";
        LabelEntry? entry;
        lock (_gate)
        {
            entry = Find(key, db, label);
        }

        if (entry is { PollsLeft: > 0 })
        {
            entry.PollsLeft--;
            if (entry.PollsLeft == 0)
            {
                if (entry.ThenCommits)
                {
                    CommitAsync(key, entry, CancellationToken.None).GetAwaiter().GetResult();
                }
                else
                {
                    Abort(key, entry);
                }
            }
            else
            {
                return Json(new { Status = "OK", Message = "", State = "PREPARE" });
            }
        }

        var state = entry?.State switch
        {
            null => "UNKNOWN",
            "PRECOMMITTED" => "PREPARED",
            var s => s,
        };
        return Json(new { Status = "OK", Message = "", State = state });
    }

    private LabelEntry? Find(string key, string db, string label)
    {
        if (_labels.TryGetValue(key, out var entry))
        {
            return entry;
        }

        // A label committed before this server started (or by another instance) is in MariaDB's label table.
        if (DiscardBodies)
        {
            return null;
        }

        using var c = new MySqlConnection(ConnectionString(db));
        try
        {
            c.Open();
            using var cmd = new MySqlCommand($"SELECT txn_id FROM `{LabelTable}` WHERE label = @l", c);
            cmd.Parameters.AddWithValue("@l", label);
            return cmd.ExecuteScalar() is long id ? _labels[key] = new LabelEntry(db, "", id) { State = "VISIBLE" } : null;
        }
        catch (MySqlException)
        {
            return null; // no label table yet: nothing was ever committed there
        }
    }

    private async Task<(string? Error, StreamLoadBody? Body)> ParseAsync(StreamLoadRequest request, string db, string table, byte[] body, CancellationToken token)
    {
        if (DiscardBodies)
        {
            return (null, StreamLoadBody.Counted(body.AsSpan().Count((byte)'\n')));
        }

        var format = BodyFormat.From(request, out var formatError);
        if (formatError is not null)
        {
            return (formatError, null);
        }

        IReadOnlyList<TableColumn> columns;
        try
        {
            columns = await ColumnsAsync(db, table, token);
        }
        catch (InvalidOperationException e)
        {
            return (e.Message, null);
        }

        // The columns header maps body positions to table columns; without it the body is in table order.
        var targets = new List<TableColumn>();
        if (request.Header("columns") is { Length: > 0 } list)
        {
            foreach (var raw in list.Split(','))
            {
                var name = raw.Trim().Trim('`');
                var column = columns.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));
                if (column is null)
                {
                    return ($"Unknown column '{name}' in table '{table}'", null);
                }

                if (targets.Contains(column))
                {
                    return ($"Duplicate column '{name}' in the columns header", null);
                }

                targets.Add(column);
            }

            var missing = columns.FirstOrDefault(c => !c.Nullable && !targets.Contains(c));
            if (missing is not null)
            {
                return ($"Column '{missing.Name}' is NOT NULL and not in the columns header", null);
            }
        }
        else
        {
            targets.AddRange(columns);
        }

        return (null, StreamLoadBody.Read(body, format, targets));
    }

    private async Task<IReadOnlyList<TableColumn>> ColumnsAsync(string db, string table, CancellationToken token)
    {
        if (DiscardBodies)
        {
            return [];
        }

        await using var c = new MySqlConnection(ConnectionString(null));
        await c.OpenAsync(token);
        await using var cmd = new MySqlCommand(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_MAXIMUM_LENGTH, IS_NULLABLE FROM information_schema.columns " +
            "WHERE TABLE_SCHEMA = @db AND TABLE_NAME = @t ORDER BY ORDINAL_POSITION", c);
        cmd.Parameters.AddWithValue("@db", db);
        cmd.Parameters.AddWithValue("@t", table);
        var columns = new List<TableColumn>();
        await using var r = await cmd.ExecuteReaderAsync(token);
        while (await r.ReadAsync(token))
        {
            columns.Add(new TableColumn(r.GetString(0), r.GetString(1).ToLowerInvariant(), r.GetString(2).ToLowerInvariant(),
                r.IsDBNull(3) ? null : Convert.ToInt64(r.GetValue(3), CultureInfo.InvariantCulture), r.GetString(4) == "YES"));
        }

        return columns.Count > 0 ? columns : throw new InvalidOperationException($"Table '{db}.{table}' does not exist");
    }

    private async Task<MySqlConnection?> OpenAsync(string db, CancellationToken token)
    {
        if (DiscardBodies)
        {
            return null;
        }

        // Not pooled: closing it must end the session, so that an abort really rolls back and frees its locks
        // (a pooled connection keeps its open transaction until it is next reused).
        var c = new MySqlConnection(new MySqlConnectionStringBuilder(ConnectionString(db)) { Pooling = false }.ConnectionString);
        await c.OpenAsync(token);
        await using (var cmd = new MySqlCommand(
            $"CREATE TABLE IF NOT EXISTS `{LabelTable}` (label VARCHAR(128) PRIMARY KEY, table_name VARCHAR(64) NOT NULL, txn_id BIGINT NOT NULL, row_count BIGINT NOT NULL)", c))
        {
            await cmd.ExecuteNonQueryAsync(token);
        }

        // Started by SQL, not BeginTransaction: MySqlBulkLoader then runs inside it.
        await using (var cmd = new MySqlCommand("START TRANSACTION", c))
        {
            await cmd.ExecuteNonQueryAsync(token);
        }

        return c;
    }

    private static async Task AppendAsync(LabelEntry entry, string table, StreamLoadBody loaded, CancellationToken token)
    {
        if (entry.Connection is null || loaded.LoadedRows == 0)
        {
            return;
        }

        var loader = new MySqlBulkLoader(entry.Connection)
        {
            TableName = $"`{table}`",
            Local = true,
            SourceStream = loaded.Accepted,
            FieldTerminator = "\t",
            LineTerminator = "\n",
            EscapeCharacter = '\\',
            CharacterSet = "utf8mb4",
        };
        foreach (var c in loaded.Columns)
        {
            loader.Columns.Add($"`{c}`");
        }

        var inserted = await loader.LoadAsync(token);
        if (inserted != loaded.LoadedRows)
        {
            throw new InvalidOperationException($"LOAD DATA took {inserted} rows of {loaded.LoadedRows}");
        }
    }

    /// <summary>Commits the held MariaDB transaction with the label record: the rows and the label become visible together.</summary>
    private async Task CommitAsync(string key, LabelEntry entry, CancellationToken token)
    {
        if (entry.Connection is { } c)
        {
            await using (var cmd = new MySqlCommand($"INSERT INTO `{LabelTable}` (label, table_name, txn_id, row_count) VALUES (@l, @t, @id, @n)", c))
            {
                cmd.Parameters.AddWithValue("@l", key[(key.IndexOf('/', StringComparison.Ordinal) + 1)..]);
                cmd.Parameters.AddWithValue("@t", entry.Table);
                cmd.Parameters.AddWithValue("@id", entry.TxnId);
                cmd.Parameters.AddWithValue("@n", entry.Rows);
                await cmd.ExecuteNonQueryAsync(token);
            }

            await using (var cmd = new MySqlCommand("COMMIT", c))
            {
                await cmd.ExecuteNonQueryAsync(token);
            }

            await c.DisposeAsync();
            entry.Connection = null;
        }

        lock (_gate)
        {
            entry.State = "VISIBLE";
        }

        Interlocked.Increment(ref LoadsCommitted);
        Interlocked.Add(ref RowsCommitted, entry.Rows);
    }

    private void Abort(string key, LabelEntry entry)
    {
        lock (_gate)
        {
            entry.State = "ABORTED";
            entry.PollsLeft = 0;
        }

        // Closing without COMMIT rolls the MariaDB transaction back.
        entry.Connection?.Dispose();
        entry.Connection = null;
        _ = key;
    }

    private void AbortTransactionOf(StreamLoadRequest request, (string Db, string Table)? target)
    {
        if (target is not null)
        {
            return;
        }

        var key = $"{request.Header("db")}/{request.Header("label")}";
        LabelEntry? entry;
        lock (_gate)
        {
            _labels.TryGetValue(key, out entry);
        }

        if (entry is { State: "PREPARE" })
        {
            Abort(key, entry);
        }
    }

    private string? ErrorUrl(string label, StreamLoadBody loaded)
    {
        if (loaded.Errors.Count == 0)
        {
            return null;
        }

        var file = $"__shard_{Interlocked.Increment(ref _errorLogIds)}/error_log_{label}";
        _errorLogs[file] = string.Join('\n', loaded.Errors) + "\n";
        return $"http://127.0.0.1:{BePort}/api/_load_error_log?file={Uri.EscapeDataString(file)}";
    }

    private static object Reply(LabelEntry entry, string label, string status, string message, StreamLoadBody loaded, string? errorUrl) => new
    {
        TxnId = entry.TxnId,
        Label = label,
        Status = status,
        Message = message,
        NumberTotalRows = loaded.TotalRows,
        NumberLoadedRows = status is "FAILED" ? 0 : loaded.LoadedRows,
        NumberFilteredRows = (long)loaded.Errors.Count,
        NumberUnselectedRows = 0L,
        LoadBytes = loaded.AcceptedBytes,
        LoadTimeMs = 1L,
        ErrorURL = errorUrl,
    };

    /// <summary>Caller holds the gate.</summary>
    private string? RunningLimit(string db)
    {
        var running = _labels.Values.Count(l => l.Db == db && l.State is "PREPARE" or "PREPARED" or "PRECOMMITTED");
        return running >= MaxRunningTransactions ? $"current running txns on db {db} is {running}, larger than limit {MaxRunningTransactions}" : null;
    }

    /// <summary>Counts a version for the table, or says why it cannot take one now.</summary>
    private string? TooManyVersions(string db, string table)
    {
        lock (_gate)
        {
            var now = DateTime.UtcNow;
            var key = $"{db}.{table}";
            if (!_versions.TryGetValue(key, out var recent))
            {
                _versions[key] = recent = new Queue<DateTime>();
            }

            while (recent.Count > 0 && now - recent.Peek() > VersionWindow)
            {
                recent.Dequeue();
            }

            if (recent.Count >= MaxVersions)
            {
                return $"Too many versions. tablet_id: {Math.Abs(key.GetHashCode(StringComparison.Ordinal)) % 100000}, version_count: {recent.Count + 1}, limit: {MaxVersions}";
            }

            recent.Enqueue(now);
            return null;
        }
    }

    /// <summary>The headers every load of one transaction must repeat identically.</summary>
    private static string FormatHeaders(StreamLoadRequest request) =>
        string.Join('\n', new[] { "format", "columns", "column_separator", "row_delimiter", "enclose", "escape", "strict_mode", "max_filter_ratio" }
            .Select(h => $"{h}={request.Header(h)}"));

    private static double MaxFilterRatio(StreamLoadRequest request) =>
        double.TryParse(request.Header("max_filter_ratio"), NumberStyles.Float, CultureInfo.InvariantCulture, out var r) ? r : 0;

    private static bool IsValidLabel(string label) =>
        label.Length is > 0 and <= 128 && label.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '_' or '-');

    private string ConnectionString(string? db) =>
        new MySqlConnectionStringBuilder(_connectionString) { Database = db ?? "", AllowLoadLocalInfile = true, Pooling = true }.ConnectionString;

    private static string Json(object value) => JsonSerializer.Serialize(value);

    private sealed class LabelEntry(string db, string table, long txnId)
    {
        public string Db { get; } = db;

        public string Table { get; } = table;

        public long TxnId { get; } = txnId;

        /// <summary>PREPARE (running), PREPARED, PRECOMMITTED (Doris), VISIBLE or ABORTED.</summary>
        public string State { get; set; } = "PREPARE";

        public bool Busy { get; set; }

        public long Rows { get; set; }

        public int PollsLeft { get; set; }

        public bool ThenCommits { get; set; }

        /// <summary>A transaction's format headers, from its first load: later loads must repeat them.</summary>
        public string? FormatHeaders { get; set; }

        /// <summary>The MariaDB connection whose open transaction holds this load's rows until commit.</summary>
        public MySqlConnection? Connection { get; set; }
    }
}
