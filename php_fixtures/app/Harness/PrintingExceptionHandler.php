<?php
/*
 * The exception handler the worker reports to: it prints each exception to
 * stderr (one line, then the trace), so the harness's stdout keeps only the
 * worker's Processing/Processed/Failed lines.
 */

declare(strict_types=1);

namespace Fixtures\Harness;

use Illuminate\Contracts\Debug\ExceptionHandler;
use Throwable;

final class PrintingExceptionHandler implements ExceptionHandler
{
    public function report(Throwable $e)
    {
        fwrite(STDERR, sprintf("[%s] %s: %s\n%s\n", date('Y-m-d H:i:s'), get_class($e), $e->getMessage(), $e->getTraceAsString()));
    }

    public function shouldReport(Throwable $e)
    {
        return true;
    }

    public function render($request, Throwable $e)
    {
        throw $e;
    }

    public function renderForConsole($output, Throwable $e)
    {
        $output->writeln(sprintf('<error>%s: %s</error>', get_class($e), $e->getMessage()));
    }
}
