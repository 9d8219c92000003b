using System.CommandLine;
using System.Globalization;
using EtlStream.Pipeline;
using EtlStream.Security;
using EtlStream.Sinks;
using EtlStream.State;
using EtlStream.Tables;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace EtlStream.Cli.Commands;

internal static partial class LoadCommand
{
    /// <summary>The report of a load that did not complete: <c>failed</c> with the error as printed, or <c>cancelled</c>.</summary>
    internal static RunReport FailedReport(Exception e, CancellationToken token, string input, string target, string? table)
    {
        var cancelled = e is OperationCanceledException && token.IsCancellationRequested;
        return new RunReport
        {
            Status = cancelled ? "cancelled" : "failed",
            Error = cancelled ? "cancelled: nothing was committed" : e is ConfigException c ? string.Join("\n", c.Errors) : e.Message,
            Input = input,
            Target = target,
            Table = table,
        };
    }

    private static async Task WriteSucceededReportAsync(string? reportPath, LoadResult result, string input, string target, string table)
    {
        if (reportPath is not null)
        {
            // The rows are committed: a report that cannot be written must not turn the run into a failure (a retry
            // would load them twice), so it is a warning and the exit code stays 0.
            await TryWriteReportAsync(reportPath, RunReport.From(result, input, target, table),
                string.Create(CultureInfo.InvariantCulture, $"the load itself succeeded: {result.RowsLoaded:N0} rows are committed, do not load them again"));
        }
    }

    public static string Summary(LoadResult r, string table, int skipped = 0)
    {
        var seconds = r.Elapsed.TotalSeconds;
        var rate = seconds > 0 ? r.BytesRead / seconds : 0;
        var filtered = (r.RowsFiltered > 0 ? $", {r.RowsFiltered:N0} filtered" : "") + (r.RowsRejected > 0 ? $", {r.RowsRejected:N0} rejected to {r.RejectsPath}" : "");
        var alreadyLoaded = skipped > 0 ? $"; {skipped} file{(skipped == 1 ? "" : "s")} already loaded, skipped (--once)" : "";
        return string.Create(CultureInfo.InvariantCulture,
            $"loaded {Count(r.RowsLoaded, "row")} into table {table} ({r.RowsRead:N0} read{filtered}) from {Count(r.Files, "file")} in {seconds:F2} s: {Size(r.BytesRead)} at {Size(rate)}/s, peak memory {r.PeakWorkingSetBytes / 1e6:N0} MB{alreadyLoaded}");
    }

    /// <summary><c>1 file</c>, <c>2 files</c>, <c>1,000 rows</c>.</summary>
    public static string Count(long n, string noun) => string.Create(CultureInfo.InvariantCulture, $"{n:N0} {noun}{(n == 1 ? "" : "s")}");

    /// <summary>
    /// Bytes in the unit that shows them (decimal, as MB elsewhere in the output), three significant figures: a small
    /// load is <c>26 bytes</c> or <c>4.10 kB</c>, never <c>0 MB</c>.
    /// </summary>
    public static string Size(double bytes)
    {
        if (bytes < 1000)
        {
            return string.Create(CultureInfo.InvariantCulture, $"{bytes:N0} bytes");
        }

        string[] units = ["kB", "MB", "GB", "TB"];
        var unit = 0;
        var value = bytes / 1000;
        while (value >= 1000 && unit < units.Length - 1)
        {
            value /= 1000;
            unit++;
        }

        var format = value < 10 ? "F2" : value < 100 ? "F1" : "N0";
        return $"{value.ToString(format, CultureInfo.InvariantCulture)} {units[unit]}";
    }

    /// <summary>
    /// Fails the run as bad usage, before anything is read or loaded, when the report could not be written there
    /// (a folder that cannot be made, a path that is a folder, no permission, a read-only file system).
    /// </summary>
    private static void CheckReportPath(string path)
    {
        try
        {
            var full = Path.GetFullPath(path);
            if (Directory.Exists(full))
            {
                throw new IOException("it is a folder");
            }

            var folder = Path.GetDirectoryName(full);
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            var existed = File.Exists(full);
            using (new FileStream(full, FileMode.OpenOrCreate, FileAccess.Write, FileShare.ReadWrite))
            {
                // opened for writing without truncating: an earlier report stays until this run's replaces it
            }

            if (!existed)
            {
                File.Delete(full);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or NotSupportedException or ArgumentException)
        {
            throw new ConfigException([$"--report {path}: the report cannot be written there ({e.Message}); nothing was loaded"]);
        }
    }

    /// <summary>Writes the report; a failure to write it is a warning on stderr saying what became of the load.</summary>
    private static async Task TryWriteReportAsync(string path, RunReport report, string loadOutcome)
    {
        try
        {
            var folder = Path.GetDirectoryName(Path.GetFullPath(path));
            if (folder is not null)
            {
                Directory.CreateDirectory(folder);
            }

            await File.WriteAllTextAsync(path, Redacted(report).ToJson());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync(Redaction.Redact($"warning: --report {path}: the report was not written ({e.Message}); {loadOutcome}"));
        }
    }

    /// <summary>
    /// The report with every text that can carry a credential scrubbed: the target as typed (a refused
    /// <c>user:password@</c> target), the input, and an error whose text may echo a server's reply.
    /// </summary>
    internal static RunReport Redacted(RunReport report) => report with
    {
        Input = Redaction.Redact(report.Input),
        Target = Redaction.Redact(SinkTarget.Redacted(report.Target)),
        Error = report.Error is null ? null : Redaction.Redact(report.Error),
    };
}
