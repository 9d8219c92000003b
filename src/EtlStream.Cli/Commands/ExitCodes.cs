using EtlStream.Formats.Csv;
using EtlStream.Security;
using EtlStream.Tables;

namespace EtlStream.Cli.Commands;

/// <summary>The exit codes every command uses (README lists them): scripts and schedulers branch on these.</summary>
internal static class ExitCodes
{
    public const int Success = 0;
    public const int Failed = 1;
    public const int Usage = 2;
    public const int Cancelled = 130;

    /// <summary>A message as printed: secrets redacted, and control characters escaped so none reaches the terminal raw.</summary>
    internal static string Printable(string message) => PrintableText.EscapeMessage(Redaction.Redact(message));

    /// <summary>Runs a command body, turning known failures into one clear line on stderr and the right exit code.</summary>
    public static async Task<int> RunAsync(Func<CancellationToken, Task<int>> body, CancellationToken cancellationToken)
    {
        try
        {
            return await body(cancellationToken);
        }
        catch (ConfigException e)
        {
            foreach (var line in e.Errors)
            {
                Console.Error.WriteLine($"error: {Printable(line)}");
            }

            return Usage;
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException or ArgumentException)
        {
            Console.Error.WriteLine($"error: {Printable(e.Message)}");
            return Usage;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Console.Error.WriteLine("cancelled: nothing was committed");
            return Cancelled;
        }
        catch (Exception e)
        {
            Console.Error.WriteLine($"error: {Printable(e.Message)}");
            return Failed;
        }
    }
}
