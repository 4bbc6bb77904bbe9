<!DOCTYPE html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Revise el formulario — Example Co.</title>
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/site.css">
<script src="/fmgate-forms.js" defer></script>
</head>
<body>
<header class="top"><div class="wrap"><a class="brand" href="/">Example<span>Co.</span></a></div></header>
<main class="wrap page">
<section class="card">
  <!-- One variant per language (error.html.es): Apache picks it by the
       browser's Accept-Language (scripts/apache-local.sh). Without JavaScript
       the sentence below fits every refusal, and the fragment the form's
       failure URL ends in (#demo, #newsletter, #webinar) shows the Back link
       to that form (CSS :target). With JavaScript, fmgate-forms.js lists every
       error of the URL (error, field, errors) in place of the sentence; the
       query only picks fixed sentences and labels, and is shown as text. -->
  <h1>Revise el formulario</h1>
  <p id="problem" data-fmgate-errors-fallback>No se ha podido enviar el formulario tal como estaba, así que no se ha guardado nada. Vuelva al formulario, revise lo que ha escrito y envíelo de nuevo. Si sigue sin funcionar, inténtelo otra vez dentro de unos minutos.</p>
  <ul id="problems" class="problems" role="alert" data-fmgate-errors hidden></ul>
  <p class="for-form" id="demo"><a href="/#demo">Volver a la solicitud de demo</a></p>
  <p class="for-form" id="newsletter"><a href="/#newsletter">Volver a la suscripción al boletín</a></p>
  <p class="for-form" id="webinar"><a href="/#webinar">Volver a la inscripción al webinar</a></p>
  <p class="for-none"><a href="/">Volver a la página de inicio</a></p>
  <ul hidden data-fmgate-labels aria-label="Nombres de los campos">
    <li data-field="email">Correo electrónico</li>
    <li data-field="first">Nombre</li>
    <li data-field="last">Apellidos</li>
    <li data-field="company">Empresa</li>
    <li data-field="title">Cargo</li>
    <li data-field="phone" data-type="tel">Teléfono</li>
    <li data-field="sector" data-type="select">Sector</li>
    <li data-field="size" data-type="number">Empleados</li>
    <li data-field="message">Mensaje</li>
    <li data-field="optin" data-type="checkbox">Boletín</li>
  </ul>
</section>
</main>
</body>
</html>
