using System.Collections.Concurrent;
using System.Globalization;
using EtlStream.Resilience;
using EtlStream.Sinks.Sql;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Security;
using Microsoft.Extensions.Logging;
using MySqlConnector;

namespace EtlStream.Sinks.StarRocks;

/// <summary>
/// Submits an <see cref="InClusterPlan"/> through the FE's MySQL port, <see cref="InClusterLoadOptions.ParallelFiles"/>
/// statements at once, and books each file in the load ledger once the cluster says its label is FINISHED. Labels make
/// it exactly-once: a statement whose reply was lost, or a file committed by a run that died before booking it, is
/// answered "Label … has already been used" on resubmission, and the label's state (<c>information_schema.loads</c>)
/// decides: FINISHED is done, a running load is polled, a cancelled one is submitted again under the same label.
/// </summary>
public static partial class InClusterLoad
{
    /// <param name="ledger">Where each file is booked once the cluster says FINISHED, under run <paramref name="runId"/>.</param>
    public static async Task<InClusterLoadResult> RunAsync(InClusterPlan plan, LoadLedger ledger, string runId, InClusterLoadOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentNullException.ThrowIfNull(ledger);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        if (options.Validate() is { Count: > 0 } invalid)
        {
            throw new ConfigException(invalid);
        }

        var backfill = plan.Backfill;

        // Resubmitted at once: each submission whose outcome stayed open waited for its label's state already.
        var retry = new RemoteRetry<Submission>(options.MaxAttempts, TimeSpan.Zero, TimeSpan.Zero);
        var booking = new SemaphoreSlim(1, 1);
        int loaded = 0, healed = 0;
        long rows = 0;
        var failures = new ConcurrentBag<(string File, string Error)>();
        var pending = plan.Files.Where(f => !f.AlreadyLoaded).ToList();
        try
        {
            await Parallel.ForEachAsync(pending, new ParallelOptions { MaxDegreeOfParallelism = options.ParallelFiles, CancellationToken = cancellationToken }, async (file, token) =>
            {
                InClusterOutcome outcome;
                try
                {
                    outcome = await LoadFileAsync(plan.Target, file, options, retry, logger, token).ConfigureAwait(false);
                }
                catch (Exception e) when (e is MySqlException or InClusterLoadException or TimeoutException)
                {
                    failures.Add((file.Source.Name, Redaction.Redact(e.Message)));
                    return;
                }

                // Booked after the cluster's FINISHED; a crash before this is healed by the label next run.
                await booking.WaitAsync(CancellationToken.None).ConfigureAwait(false);
                try
                {
                    await ledger.RecordAsync(
                        [new LedgerEntry(backfill.TenantId, backfill.LedgerTarget, file.Source.Name, file.Source.Version, outcome.Rows, file.Date, runId, DateTimeOffset.UtcNow)],
                        CancellationToken.None).ConfigureAwait(false);
                }
                finally
                {
                    booking.Release();
                }

                Interlocked.Add(ref rows, outcome.Rows);
                Interlocked.Increment(ref outcome.Healed ? ref healed : ref loaded);
                LogFileLoaded(logger, backfill.TenantId, backfill.TableName, file.Source.Name, outcome.Rows, outcome.Healed ? "already committed under its label" : "loaded");
            }).ConfigureAwait(false);
        }
        finally
        {
            booking.Dispose();
        }

        if (!failures.IsEmpty)
        {
            var list = failures.OrderBy(f => f.File, StringComparer.Ordinal).Select(f => $"{f.File}: {f.Error}").ToList();
            throw new InClusterLoadException(
                $"{backfill.TenantId}/{backfill.TableName}: {list.Count} of {pending.Count} files failed ({loaded + healed} committed and booked; a rerun submits the rest):\n  " + string.Join("\n  ", list));
        }

        return new InClusterLoadResult(loaded, healed, plan.Files.Count - pending.Count, rows);
    }

    private readonly record struct InClusterOutcome(long Rows, bool Healed);

    /// <summary>One submission's outcome: the rows, or the label's state and the error that left the outcome open.</summary>
    private readonly record struct Submission(long Rows, string? State = null, Exception? Error = null, bool LabelUsed = false);

    private static async Task<InClusterOutcome> LoadFileAsync(
        StarRocksSinkOptions target, InClusterFile file, InClusterLoadOptions options, RemoteRetry<Submission> retry, ILogger logger, CancellationToken cancellationToken)
    {
        var result = await retry.ExecuteAsync((_, token) => SubmitAsync(target, file, options, logger, token), null, cancellationToken).ConfigureAwait(false);
        var (last, submission) = (result.Last, result.Last.Value);
        if (last.IsDone)
        {
            return new InClusterOutcome(submission.Rows, Healed: last.Outcome == RemoteOutcome.AlreadyDone);
        }

        var error = submission.Error!;
        throw new InClusterLoadException(submission.LabelUsed
            ? $"label {file.Label} is {submission.State ?? "unknown"} after {result.Attempts} submissions: {Redaction.Redact(error.Message)}"
            : $"no reply after {result.Attempts} submissions (label {file.Label} is {submission.State ?? "unknown"}): {Redaction.Redact(error.Message)}", error);
    }

    /// <summary>
    /// Submits the file's statement once: done with its rows; already done when the label committed earlier (its state
    /// says FINISHED); retried when the label is free again or the reply was lost and the label did not commit.
    /// </summary>
    private static async ValueTask<RemoteAttempt<Submission>> SubmitAsync(StarRocksSinkOptions target, InClusterFile file, InClusterLoadOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        Exception error;
        bool labelUsed;
        try
        {
            var connection = await OpenAsync(target, cancellationToken).ConfigureAwait(false);
            await using (connection.ConfigureAwait(false))
            {
                // The statement may run for as long as StatementTimeout, but a silent FE is noticed within the target's
                // timeout= by the probes on a connection of their own, and fails naming host:port.
                await using var command = new MySqlCommand(file.Statement!.Sql, connection) { CommandTimeout = (int)Math.Ceiling(options.StatementTimeout.TotalSeconds) };
                long affected = 0;
                await Watch(target).RunAsync("running INSERT … FROM FILES", async token => affected = await command.ExecuteNonQueryAsync(token).ConfigureAwait(false), cancellationToken)
                    .ConfigureAwait(false);
                return new(RemoteOutcome.Done, new Submission(affected));
            }
        }
        catch (MySqlException e) when (IsLabelUsed(e))
        {
            // An earlier submission (a lost reply, a run that died before booking) has this label.
            (error, labelUsed) = (e, true);
        }
        catch (Exception e) when (IsOutcomeUnknown(e) && !cancellationToken.IsCancellationRequested)
        {
            // The statement may have committed: ask before submitting again (the same label would refuse a second commit anyway).
            LogOutcomeUnknown(logger, file.Source.Name, file.Label, Redaction.Redact(e.Message));
            (error, labelUsed) = (e, false);
        }

        var state = await AwaitLabelAsync(target, file, options, cancellationToken).ConfigureAwait(false);
        return state.State is "FINISHED" or "VISIBLE" or "COMMITTED"
            ? new(RemoteOutcome.AlreadyDone, new Submission(state.Rows))
            : new(RemoteOutcome.Retry, new Submission(0, state.State, error, labelUsed));
    }

    /// <summary>The probe-bounded wait the SQL sinks use: while a statement runs, a second connection asks the FE <c>SELECT 1</c>.</summary>
    private static ServerWatch Watch(StarRocksSinkOptions target) =>
        new(target.MySqlName, StarRocksFeSql.WholeSeconds(target.RequestTimeout), async token =>
        {
            var probe = await StarRocksFeSql.OpenAsync(target, token).ConfigureAwait(false);
            await using (probe.ConfigureAwait(false))
            {
                await using var command = new MySqlCommand("SELECT 1", probe);
                await command.ExecuteScalarAsync(token).ConfigureAwait(false);
            }
        });

    /// <summary>The label's state once it is no longer running (null: the cluster has no such label).</summary>
    private static async Task<(string? State, long Rows)> AwaitLabelAsync(StarRocksSinkOptions target, InClusterFile file, InClusterLoadOptions options, CancellationToken cancellationToken)
    {
        var deadline = DateTimeOffset.UtcNow + options.PollLimit;
        while (true)
        {
            var state = await LabelStateAsync(target, file.Label, cancellationToken).ConfigureAwait(false);
            if (state.State is not ("PENDING" or "LOADING" or "QUEUEING" or "PREPARED" or "RUNNING"))
            {
                return state;
            }

            if (DateTimeOffset.UtcNow > deadline)
            {
                throw new TimeoutException($"label {file.Label} still {state.State} after {options.PollLimit}");
            }

            await Task.Delay(options.PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The label's state and rows from <c>information_schema.loads</c> (StarRocks 3.1+, INSERT jobs included); the
    /// newest job when a cancelled one left the label before.
    /// </summary>
    internal static async Task<(string? State, long Rows)> LabelStateAsync(StarRocksSinkOptions target, string label, CancellationToken cancellationToken)
    {
        var connection = await OpenAsync(target, cancellationToken).ConfigureAwait(false);
        await using (connection.ConfigureAwait(false))
        {
            await using var command = new MySqlCommand(
                "SELECT STATE, SINK_ROWS FROM information_schema.loads WHERE DATABASE_NAME = @db AND LABEL = @label ORDER BY CREATE_TIME DESC LIMIT 1", connection);
            command.Parameters.AddWithValue("@db", target.Database);
            command.Parameters.AddWithValue("@label", label);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                return (null, 0);
            }

            var rows = reader.IsDBNull(1) ? 0 : long.Parse(Convert.ToString(reader.GetValue(1), CultureInfo.InvariantCulture)!, CultureInfo.InvariantCulture);
            return (reader.GetString(0).ToUpperInvariant(), rows);
        }
    }

    /// <summary>StarRocks' words for a label in use: "Label [l] has already been used." (any error code).</summary>
    internal static bool IsLabelUsed(MySqlException e) =>
        e.Message.Contains("has already been used", StringComparison.OrdinalIgnoreCase) && e.Message.Contains("Label", StringComparison.OrdinalIgnoreCase);

    /// <summary>A transport failure or a timeout: the statement may or may not have committed.</summary>
    private static bool IsOutcomeUnknown(Exception e) => e switch
    {
        MySqlException m => m.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.CommandTimeoutExpired || m.InnerException is IOException or EndOfStreamException or System.Net.Sockets.SocketException,
        IOException or EndOfStreamException or System.Net.Sockets.SocketException => true,
        _ => false,
    };

    private static async Task<MySqlConnection> OpenAsync(StarRocksSinkOptions target, CancellationToken cancellationToken)
    {
        // Not pooled (a connection that lost a reply must not return to a pool); the refusal names no secret.
        try
        {
            return await StarRocksFeSql.OpenAsync(target, cancellationToken).ConfigureAwait(false);
        }
        catch (StreamLoadException e)
        {
            throw new InClusterLoadException(Redaction.Redact(e.Message), e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Tenant}/{Table}: {File}: {Rows} rows ({How})")]
    private static partial void LogFileLoaded(ILogger logger, string tenant, string table, string file, long rows, string how);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: no reply to the INSERT (label {Label}): asking the cluster for the label's state: {Error}")]
    private static partial void LogOutcomeUnknown(ILogger logger, string file, string label, string error);
}

/// <summary>An in-cluster load that failed: a file's statement, or the cluster unreachable. The message never carries a credential.</summary>
public sealed class InClusterLoadException(string message, Exception? inner = null) : Exception(message, inner);
