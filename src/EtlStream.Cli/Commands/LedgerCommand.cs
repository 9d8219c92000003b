using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using EtlStream.Security;
using EtlStream.State;
using EtlStream.Tables;
using EtlStream.Tenancy;

namespace EtlStream.Cli.Commands;

/// <summary>
/// <c>etlstream ledger list|forget</c>: what the load ledger has booked, and un-booking some of it (after a tenant's
/// database was dropped, or its rows deleted by hand) so runs and backfills load those files again, without deleting
/// <c>state/ledger.db</c> and with it every tenant's history.
/// </summary>
internal static class LedgerCommand
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.CamelCase, WriteIndented = true };

    public static Command Create() => new("ledger", "List the files the load ledger has booked, or forget some so they load again.") { List(), Forget() };

    /// <summary>The filters, the ledger's location and the output format, shared by both subcommands.</summary>
    private sealed class Filters
    {
        public Option<string?> Tenant { get; } = new("--tenant") { Description = "Only this tenant's files." };

        public Option<string?> Table { get; } = new("--table") { Description = "Only this table's files (the tenant's table name)." };

        public Option<string?> From { get; } = new("--from") { Description = "Only files dated on or after this day (yyyy-MM-dd, the {date} in the name)." };

        public Option<string?> To { get; } = new("--to") { Description = "Only files dated on or before this day (yyyy-MM-dd)." };

        public Option<string?> File { get; } = new("--file") { Description = "Only this file: its name (invoices_2026-11-24.csv.gz) or its whole source name." };

        public Option<string?> State { get; } = StateCommands.StateOption();

        public Option<string> Output { get; } = LoadCommand.OutputOption();

        public ConfigRootOptions Roots { get; } = new();

        public void AddTo(Command command)
        {
            foreach (var option in new Option[] { Tenant, Table, From, To, File, State, Output })
            {
                command.Options.Add(option);
            }

            Roots.AddTo(command);
        }

        public LedgerFilter Read(ParseResult parse)
        {
            var from = Date(parse.GetValue(From), "--from");
            var to = Date(parse.GetValue(To), "--to");
            return from > to
                ? throw new ConfigException([$"--from {from:yyyy-MM-dd} is after --to {to:yyyy-MM-dd}"])
                : new LedgerFilter(parse.GetValue(Tenant), parse.GetValue(Table), from, to, parse.GetValue(File));
        }

        /// <summary>
        /// The ledger, from <c>--state</c> or under the config root. With a root, its tenants are read first so that
        /// a secret in a source path (a folder named from one) is known and redacted from what is printed.
        /// </summary>
        public async Task<LoadLedger> OpenAsync(ParseResult parse, CancellationToken cancellationToken)
        {
            ConfigRoot? root;
            try
            {
                root = Roots.Find(parse);
            }
            catch (ConfigException) when (parse.GetValue(State) is not null && parse.GetValue(Roots.Root) is null && parse.GetValue(Roots.Configs) is null)
            {
                // With --state, a root found is only for redaction: none found is no error.
                root = null;
            }

            if (root is not null)
            {
                TenantConfigReader.ReadAll(root.Configs, out _);
            }

            var path = parse.GetValue(State) ?? root!.Ledger;
            if (!System.IO.File.Exists(path))
            {
                // A ledger is made by the first run; listing or forgetting must not create an empty one somewhere.
                throw new ConfigException([$"no load ledger at {path} (it is created by the first run or backfill)"]);
            }

            return await LoadLedger.OpenAsync(path, cancellationToken);
        }

        private static DateOnly? Date(string? text, string option) =>
            text is null ? null
            : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
            : throw new ConfigException([$"{option}: '{text}' is not a date in the form yyyy-MM-dd"]);
    }

    private static Command List()
    {
        var filters = new Filters();
        var command = new Command("list", "The booked files, by tenant, table, file date and name: rows, run, when committed.");
        filters.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var filter = filters.Read(parse);
            await using var ledger = await filters.OpenAsync(parse, token);
            var entries = await ledger.EntriesAsync(filter, token);
            Console.Write(Redaction.Redact(parse.GetValue(filters.Output) == "json" ? JsonOf(entries, null) : Table(entries) + $"{Count(entries)} booked in {ledger.Path}\n"));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static Command Forget()
    {
        var filters = new Filters();
        var dryRun = new Option<bool>("--dry-run") { Description = "Print what would be forgotten; change nothing." };
        var command = new Command(
            "forget",
            "Un-book files (at least one filter) so the next run or backfill of their dates loads them again. The target's rows are not touched: delete them first, or the reload adds them a second time (see run --reload).")
        {
            dryRun,
        };
        filters.AddTo(command);
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var filter = filters.Read(parse);
            if (filter.IsEmpty)
            {
                throw new ConfigException(["ledger forget: give at least one of --tenant, --table, --from, --to, --file (to forget everything, delete the ledger file)"]);
            }

            await using var ledger = await filters.OpenAsync(parse, token);
            var dry = parse.GetValue(dryRun);
            var entries = dry ? await ledger.EntriesAsync(filter, token) : await ledger.ForgetAsync(filter, token);
            var summary = entries.Count == 0
                ? $"no booked file matches: nothing {(dry ? "would be " : "")}forgotten in {ledger.Path}\n"
                : dry
                    ? $"would forget {Count(entries)} (dry run: nothing changed in {ledger.Path})\n"
                    : $"forgot {Count(entries)} in {ledger.Path}: the next run or backfill of their dates loads them again\n";
            Console.Write(Redaction.Redact(parse.GetValue(filters.Output) == "json" ? JsonOf(entries, dry) : Table(entries) + summary));
            return ExitCodes.Success;
        }, ct));
        return command;
    }

    private static string Count(IReadOnlyList<LedgerEntry> entries) =>
        string.Create(CultureInfo.InvariantCulture, $"{entries.Count} file{(entries.Count == 1 ? "" : "s")} ({entries.Sum(e => e.Rows):N0} rows)");

    /// <summary>The table name of a target (<c>duckdb:datawiz_acme/dealers</c> is dealers).</summary>
    private static string TableOf(string target) => target[(target.LastIndexOf('/') + 1)..];

    private static string Table(IReadOnlyList<LedgerEntry> entries)
    {
        if (entries.Count == 0)
        {
            return "";
        }

        var sb = new System.Text.StringBuilder();
        sb.AppendLine(CultureInfo.InvariantCulture, $"{"tenant",-16}{"table",-26}{"file date",-12}{"rows",12}  {"file",-36}{"run",-24}committed (UTC)");
        foreach (var e in entries)
        {
            sb.AppendLine(CultureInfo.InvariantCulture,
                $"{e.Tenant,-16}{TableOf(e.Target),-26}{(e.FileDate is { } d ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : "-"),-12}{e.Rows,12:N0}  {Path.GetFileName(e.SourceName),-36}{e.RunId,-24}{e.CommittedAt.UtcDateTime:yyyy-MM-dd HH:mm:ss}");
        }

        return sb.ToString();
    }

    private static string JsonOf(IReadOnlyList<LedgerEntry> entries, bool? dryRun)
    {
        var files = entries.Select(e => new
        {
            tenant = e.Tenant,
            table = TableOf(e.Target),
            target = e.Target,
            file = Path.GetFileName(e.SourceName),
            sourceName = e.SourceName,
            sourceVersion = e.SourceVersion,
            fileDate = e.FileDate?.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            rows = e.Rows,
            runId = e.RunId,
            committedAt = e.CommittedAt,
        });
        return (dryRun is null ? JsonSerializer.Serialize(new { files }, Json) : JsonSerializer.Serialize(new { dryRun, forgotten = !dryRun, files }, Json)) + "\n";
    }
}
