using EtlStream.Formats;
using System.CommandLine;
using System.Globalization;
using EtlStream.Formats.Csv;
using EtlStream.Pipeline;
using EtlStream.Sinks;
using EtlStream.Sources;
using EtlStream.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Cli.Commands;

/// <summary><c>etlstream load &lt;input&gt; --table &lt;spec.yaml&gt; --to &lt;sink&gt; [--report &lt;file.json&gt;]</c> (pinned).</summary>
internal static partial class LoadCommand
{
    /// <summary>The load ledger's tenant for ad-hoc loads: no tenant id is empty, so they never mix with a tenant's files.</summary>
    private const string AdHocTenant = "";

    public static Command Create()
    {
        var input = new Argument<string>("input") { Description = "A file, a folder or a glob (quote it: 'data/*.csv.gz'), or " + string.Join(", ", SourceStoreRegistry.InputForms) + "." };
        var table = new Option<string?>("--table") { Description = "Table spec YAML. Without it every column is a nullable string named from the header." };
        var to = new Option<string>("--to") { Description = "Where to load, one of: " + SinkTarget.SupportedForms + ".", Required = true };
        var tableName = new Option<string?>("--table-name") { Description = "The table loaded when the target has no table=; default the spec's table:, else the first file's name in lower snake case without a trailing date (zipcodes_2026-12-01.csv.gz: zipcodes)." };
        var report = new Option<string?>("--report") { Description = "Write a JSON run report to this file (a failed run's too, with its error)." };
        var parallelFiles = new Option<int>("--parallel-files") { Description = "Files read at the same time.", DefaultValueFactory = _ => new LoadOptions().ParallelFiles };
        var loadDate = new Option<string?>("--load-date") { Description = "The date load_date columns get (yyyy-MM-dd); default today." };
        var output = OutputOption();
        var noProgress = NoProgressOption();
        var metrics = Telemetry.MetricsOption();
        var rejects = new Option<string?>("--rejects") { Description = "Parquet file for rejected rows; default rejects/<table>-<yyyyMMddTHHmmss>.parquet (written only when rows are rejected)." };
        var rejectsTable = new Option<string?>("--rejects-table") { Description = "Also append rejected rows to a table, e.g. duckdb:<file>?table=etl_rejects." };
        var once = new Option<bool>("--once") { Description = "Skip files the target already has (same name and version, as the load ledger records every load into an appending target); without it such a file is appended again, with a warning." };
        var state = StateCommands.StateOption();
        var memoryBudget = TenantCommands.MemoryBudgetOption();
        var delimiter = new Option<string?>("--delimiter") { Description = "The field delimiter: one ASCII character, or '\\t' (tab). Overrides the spec's csv.delimiter; default ','." };
        var quote = new Option<string?>("--quote") { Description = "The quote character. Overrides the spec's csv.quote; default '\"'." };
        var noHeader = new Option<bool>("--no-header") { Description = "The first line is data: columns are column1, column2, … (csv.header: false)." };
        var format = new Option<string?>("--format") { Description = $"The input format: {InputFormats.Kinds}. Overrides the spec's format:; default: recognised from each file's first bytes (CSV when nothing else matches)." };
        var encoding = new Option<string?>("--encoding") { Description = $"The text encoding when the file has no byte-order mark: {CsvEncodingNames.Accepted}. Default utf-8." };

        var command = new Command("load", "Load files into a sink through the streaming pipeline.")
        {
            input, table, to, tableName, report, parallelFiles, loadDate, output, noProgress, metrics, rejects, rejectsTable, once, state, memoryBudget, format, delimiter, quote, noHeader, encoding,
        };
        command.SetAction((parse, ct) => ExitCodes.RunAsync(async token =>
        {
            var json = parse.GetValue(output) == "json";
            var inputText = parse.GetValue(input)!;
            var target = parse.GetRequiredValue(to);
            RunReport? failed = null;
            try
            {
                using var telemetry = Telemetry.Start(parse.GetValue(metrics));
                var options = new LoadOptions
                {
                    ParallelFiles = parse.GetValue(parallelFiles),
                    LoadDate = ParseDate(parse.GetValue(loadDate)),
                    RejectsPath = parse.GetValue(rejects),
                    RejectsTable = parse.GetValue(rejectsTable),
                    TableName = parse.GetValue(tableName),
                    MemoryBudget = parse.GetValue(memoryBudget),
                };
                var progress = ProgressDisplay.Create(parse.GetValue(noProgress), json);
                using var loggers = CliLogging.Create(parse);
                var dialect = CsvDialect.Parse(parse.GetValue(delimiter), parse.GetValue(quote), parse.GetValue(noHeader), parse.GetValue(encoding));
                var load = await LoadAsync(inputText, parse.GetValue(table), target, options, parse.GetValue(report), token, progress, loggers.CreateLogger("etlstream"),
                    new AdHocLedger(parse.GetValue(state) ?? ConfigRoot.Nearest()?.Ledger ?? Path.Combine("state", "ledger.db"), parse.GetValue(once)), r => failed = r, dialect, parse.GetValue(format));
                Console.WriteLine(json ? Redacted(RunReport.From(load.Result, inputText, target, load.Table)).ToJson() : Summary(load.Result, load.Table, load.Skipped));
                return ExitCodes.Success;
            }
            catch (Exception e) when (json)
            {
                // Machines read stdout: a failed, refused or cancelled load is one JSON object there too, with its error.
                Console.WriteLine(Redacted(failed ?? FailedReport(e, token, inputText, target, null)).ToJson());
                throw;
            }
        }, ct));
        return command;
    }

    /// <summary><c>--output text|json</c>: the summary line, or the run report on stdout for machines.</summary>
    public static Option<string> OutputOption() =>
        new Option<string>("--output") { Description = "text (one summary line) or json (the run report, a failed run's too).", DefaultValueFactory = _ => "text" }.AcceptOnlyFromAmong("text", "json");

    public static Option<bool> NoProgressOption() => new("--no-progress") { Description = "No live progress display (it is also off when stderr is redirected and with NO_COLOR)." };

    private static DateOnly ParseDate(string? text) =>
        text is null ? DateOnly.FromDateTime(DateTime.Today)
        : DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d
        : throw new ConfigException([$"--load-date: '{text}' is not a date in the form yyyy-MM-dd"]);
}

/// <summary>
/// <c>load</c>'s CSV flags (<c>--delimiter</c>, <c>--quote</c>, <c>--no-header</c>, <c>--encoding</c>): each one given
/// overrides the spec's <c>csv:</c> setting, so a TSV or a headerless file loads without writing a spec.
/// </summary>
internal sealed record CsvDialect(byte? Delimiter, byte? Quote, bool NoHeader, CsvEncoding? Encoding)
{
    /// <summary>The flags as typed, or null when none was given; every bad flag is reported together (exit 2).</summary>
    public static CsvDialect? Parse(string? delimiter, string? quote, bool noHeader, string? encoding)
    {
        if (delimiter is null && quote is null && !noHeader && encoding is null)
        {
            return null;
        }

        var errors = new List<string>();
        byte? Character(string? text, string flag)
        {
            if (text is null)
            {
                return null;
            }

            var b = CsvOptions.ParseCharacter(text, out var error);
            if (b is (byte)'\r' or (byte)'\n')
            {
                error = "must not be a line break";
                b = null;
            }

            if (error is not null)
            {
                errors.Add($"{flag}: {error}");
            }

            return b;
        }

        var d = Character(delimiter, "--delimiter");
        var q = Character(quote, "--quote");
        CsvEncoding? e = null;
        if (encoding is not null && (e = CsvEncodingNames.Parse(encoding)) is null)
        {
            errors.Add($"--encoding: unknown encoding '{PrintableText.Escape(encoding)}' (expected {CsvEncodingNames.Accepted})");
        }

        if (errors.Count > 0)
        {
            throw new ConfigException(errors);
        }

        return new CsvDialect(d, q, noHeader, e);
    }

    /// <summary>The spec's options with these flags over them; a delimiter equal to the quote is refused naming both.</summary>
    public CsvOptions ApplyTo(CsvOptions csv)
    {
        var applied = csv with
        {
            Delimiter = Delimiter ?? csv.Delimiter,
            Quote = Quote ?? csv.Quote,
            HasHeader = !NoHeader && csv.HasHeader,
            Encoding = Encoding ?? csv.Encoding,
        };
        if (applied.Delimiter == applied.Quote)
        {
            throw new ConfigException([$"--delimiter/--quote: the delimiter and the quote are both '{PrintableText.Escape(((char)applied.Delimiter).ToString())}' (set one of them to something else; the default quote is '\"')"]);
        }

        return applied;
    }
}
